"""fit(): the minibatch training loop, with per-epoch loss/accuracy history.

The loop is the one you would write by hand::

    for x_batch, y_batch in iterate_minibatches(x, y, batch_size, shuffle, rng=rng):
        model.zero_grad()
        out = model(x_batch)
        loss = loss_fn(out, y_batch)
        model.backward(loss_fn.backward())
        optimizer.step()
"""
import sys
import time

import numpy as np

from .data import iterate_minibatches, _check_int
from .nn.containers import Sequential

__all__ = ["fit", "evaluate", "History"]


class History(dict):
    """Per-epoch metrics: ``history["loss"]``, ``["accuracy"]`` (class targets only),
    ``["val_loss"]``, ``["val_accuracy"]`` (with validation data) and ``["time"]`` (seconds of
    training per epoch, validation excluded): lists with one value per epoch."""

    @property
    def history(self):   # Keras spelling: fit(...).history["loss"]
        return self

    @property
    def epochs(self):
        return len(self.get("loss", ()))

    def __repr__(self):
        return f"History({dict.__repr__(self)})"


def _is_class_target(y):
    return isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.ndim == 1


def _correct(out, y):
    """Number of rows of out (N, C) whose argmax equals y (N,)."""
    return int(np.count_nonzero(np.argmax(out, axis=1) == y))


def _loss_weight(loss_fn, n):
    # a batch's share of the epoch's per-sample mean: a "mean" loss counts once per sample,
    # a "sum" (or "none", summed) loss already holds one term per sample
    return n if getattr(loss_fn, "reduction", "mean") == "mean" else 1


def _loss_value(loss):
    loss = np.asarray(loss)
    return float(loss) if loss.ndim == 0 else float(loss.sum(dtype=np.float64))


def evaluate(model, loss_fn, x, y, batch_size=256):
    """Mean loss (and accuracy for class targets) of ``model`` on (x, y), in eval mode and in
    batches; the model's training flag is restored afterwards. Returns ``(loss, accuracy)`` with
    accuracy None for non-class targets."""
    was_training = model.training
    model.eval()
    try:
        total, correct, n = 0.0, 0, len(x)
        classes = _is_class_target(y)
        for xb, yb in iterate_minibatches(x, y, batch_size, shuffle=False):
            out = model(xb)
            total += _loss_value(loss_fn(out, yb)) * _loss_weight(loss_fn, len(xb))
            if classes and out.ndim == 2:
                correct += _correct(out, yb)
        loss = total / n if n else float("nan")
        return loss, (correct / n if classes and n else None)
    finally:
        model.train(was_training)


def _progress_bar(progress, total, desc):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:   # tqdm is a dependency; without it, train silently
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="batch", file=sys.stderr)


def fit(model, loss_fn, optimizer, x, y, epochs=1, batch_size=32, validation=None, shuffle=True,
        seed=0, progress=None, drop_last=False):
    """Train ``model`` on (x, y) with minibatches; returns a History.

    model: a fastnn.nn.Module; loss_fn: a loss module (forward(out, y) -> loss,
    backward() -> dout), e.g. CrossEntropyLoss(); optimizer: a fastnn.optim optimizer over
    ``model.parameters()`` (anything with step()). x (N, ...) float array of the model's dtype;
    y (N, ...) targets (int64 class indices for classification: accuracy is then recorded).
    validation: optional ``(x_val, y_val)`` evaluated after each epoch (in eval mode).
    shuffle/seed: the batch order of epoch e is drawn from a Generator seeded with ``seed``,
    so the same seed gives the same run. progress: None shows a tqdm bar only when stderr is a
    terminal, True always, False never.
    """
    if not hasattr(model, "forward") or not hasattr(model, "backward"):
        raise TypeError(f"model must be a fastnn.nn.Module, got {type(model).__name__}")
    if not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must have a step() method, got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    batch_size = _check_int(batch_size, "batch_size", 1)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError("fit needs at least one training sample, got an empty x")
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise TypeError("validation must be a tuple (x_val, y_val)")
        if len(validation[0]) != len(validation[1]):
            raise ValueError(f"validation x and y must have the same length, got "
                             f"{len(validation[0])} and {len(validation[1])}")
    classes = _is_class_target(y)
    history = History(loss=[])
    if classes:
        history["accuracy"] = []
    if validation is not None:
        history["val_loss"] = []
        if _is_class_target(validation[1]):
            history["val_accuracy"] = []
    history["time"] = []
    rng = np.random.default_rng(seed)
    n = len(x)
    batches = n // batch_size if drop_last else -(-n // batch_size)
    # x is data: no gradient wanted for it, and a Sequential's first layer can skip computing it
    skip_input_grad = type(model) is Sequential
    for epoch in range(int(epochs)):
        model.train()
        bar = _progress_bar(progress, batches, f"epoch {epoch + 1}/{epochs}")
        total, correct, seen = 0.0, 0, 0
        start = time.perf_counter()
        for xb, yb in iterate_minibatches(x, y, batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last):
            model.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            if skip_input_grad:
                model.backward(loss_fn.backward(), input_grad=False)
            else:
                model.backward(loss_fn.backward())
            optimizer.step()
            value = _loss_value(loss)
            if not np.isfinite(value):
                raise FloatingPointError(f"the loss became {value} in epoch {epoch + 1} (batch "
                                         f"{seen // batch_size + 1}); lower the learning rate")
            total += value * _loss_weight(loss_fn, len(xb))
            seen += len(xb)
            if classes and out.ndim == 2:
                correct += _correct(out, yb)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        history["time"].append(time.perf_counter() - start)
        if bar is not None:
            bar.close()
        history["loss"].append(total / seen if seen else float("nan"))
        if classes:
            history["accuracy"].append(correct / seen if seen else float("nan"))
        if validation is not None:
            vloss, vacc = evaluate(model, loss_fn, validation[0], validation[1], max(batch_size, 256))
            history["val_loss"].append(vloss)
            if "val_accuracy" in history:
                history["val_accuracy"].append(vacc)
    model.train()
    return history
