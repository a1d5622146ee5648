"""numpy twin of fastnn._loss: cross-entropy (class indices or probabilities), NLL, MSE and L1
losses with PyTorch's reductions.

Result shapes: reduction "mean"/"sum" -> a 0-d array of the input's dtype; "none" -> (N,) for
cross-entropy/NLL, the input's shape for MSE/L1. ``<loss>_backward(dloss, ctx)`` returns the
gradient of the first argument; dloss is a number or a 0-d array of the loss's dtype for
"mean"/"sum", an array of the loss's shape and dtype for "none". Sums accumulate in float64.
"""
import numpy as np

from ._checks import float_array, same_dtype, ndim

__all__ = ["cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward",
           "nll_loss_backward", "mse_loss_forward", "mse_loss_backward", "l1_loss_forward",
           "l1_loss_backward"]

REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------------------------------------------
# argument checks (the same wording as fastnn/_loss.pyx)
# ------------------------------------------------------------------------------------------------

def _reduction(value):
    if type(value) is not str or value not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {value!r}")
    return value


def _index(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not -2**63 <= value < 2**63:
        raise ValueError(f"{name} = {value} does not fit in a 64-bit integer")
    return int(value)


def _logits_2d(x, name):
    ndim(x, 2, name, "(N, C)")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one class, got shape {x.shape}")


def _class_indices(target, n, logits_shape):
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy.ndarray of int64 class indices, got {type(target).__name__}")
    if not (target.dtype.kind == "i" and target.dtype.itemsize == 8):
        raise TypeError(f"target class indices must have dtype int64, got {target.dtype}")
    if target.ndim != 1 or target.shape[0] != n:
        raise ValueError(f"target must have shape ({n},) to match logits {logits_shape}, got {target.shape}")
    return target


def _check_targets(target, c, ignore_index):
    """Rows not ignored (bool (N,)); ValueError naming the first out-of-range index."""
    kept = target != ignore_index
    bad = kept & ((target < 0) | (target >= c))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"target[{row}] = {target[row]} is out of range for {c} classes "
                         f"(valid: 0 <= target < {c}, or ignore_index={ignore_index})")
    return kept


def _number(d):
    """True for a plain number (Python int/float, numpy real scalar), never a bool."""
    return isinstance(d, (float, np.floating)) or (isinstance(d, (int, np.integer))
                                                   and not isinstance(d, bool))


def _upstream(dloss, reduction, shape, dtype):
    """(dloss array, None) for reduction none (a 0-d loss also takes a number); (None, float
    value) for mean/sum."""
    if reduction == "none":
        if shape == () and _number(dloss):
            return np.array(dloss, dtype=dtype), None
        float_array(dloss, "dloss")
        if dloss.dtype.type is not np.dtype(dtype).type:   # byte order aside
            raise TypeError(f"dloss has dtype {dloss.dtype} but the loss has dtype {np.dtype(dtype)}; "
                            f"mixed dtypes are not converted")
        if dloss.shape != shape:
            raise ValueError(f"dloss must have the loss's shape {shape} (reduction 'none'), got {dloss.shape}")
        return dloss, None
    if _number(dloss):
        return None, float(dloss)
    if not isinstance(dloss, np.ndarray):
        raise TypeError(f"dloss must be a number or a 0-d numpy.ndarray (reduction {reduction!r}), "
                        f"got {type(dloss).__name__}")
    float_array(dloss, "dloss")
    if dloss.dtype.type is not np.dtype(dtype).type:   # byte order aside
        raise TypeError(f"dloss has dtype {dloss.dtype} but the loss has dtype {np.dtype(dtype)}; "
                        f"mixed dtypes are not converted")
    if dloss.ndim != 0:
        raise ValueError(f"dloss must be a number or a 0-d array (reduction {reduction!r}), "
                         f"got shape {dloss.shape}")
    return None, float(dloss)


def _reduce(per_item, reduction, count, dtype):
    """per_item: float64 losses. The 'none' array, or a 0-d array with the sum / mean."""
    if reduction == "none":
        return per_item.astype(dtype)
    total = float(per_item.sum())
    if reduction == "mean":
        total = total / count if count else float("nan")
    return np.array(total, dtype=dtype)


# ------------------------------------------------------------------------------------------------
# cross-entropy
# ------------------------------------------------------------------------------------------------

class CrossEntropyCtx:
    """What cross_entropy_backward needs: logits (N, C); target (N,) int64 class indices or
    (N, C) probabilities; rowmax, sumexp (N,) per row the max logit and sum_j exp(logit - max);
    tsum (N,) the row sums of probability targets (None for class indices); soft; reduction;
    ignore_index; count (rows that count in the mean)."""
    __slots__ = ("logits", "target", "rowmax", "sumexp", "tsum", "soft", "reduction",
                 "ignore_index", "count")

    def __init__(self, logits, target, rowmax, sumexp, tsum, soft, reduction, ignore_index, count):
        self.logits, self.target, self.rowmax, self.sumexp, self.tsum = logits, target, rowmax, sumexp, tsum
        self.soft, self.reduction, self.ignore_index, self.count = soft, reduction, ignore_index, count

    def __repr__(self):
        return (f"CrossEntropyCtx(logits={self.logits.shape}, target={self.target.shape}, "
                f"soft={self.soft}, reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
                f"count={self.count})")


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100):
    """Cross-entropy of softmax(logits) against target (log-softmax + NLL).

    logits (N, C) float32/float64. target either int64 class indices (N,) (rows equal to
    ignore_index contribute 0 and are left out of the mean's denominator; any other index outside
    [0, C) raises ValueError) or probabilities (N, C) of the logits' dtype (loss_i =
    -sum_j target[i, j] * log_softmax(logits)[i, j]; ignore_index does not apply; the mean
    divides by N). reduction "mean", "sum" or "none". Returns ``(loss, ctx)``: a 0-d array, or
    (N,) for "none", of the logits' dtype. The mean over zero rows is NaN, like torch.
    """
    float_array(logits, "logits")
    reduction = _reduction(reduction)
    ignore_index = _index(ignore_index, "ignore_index")
    _logits_2d(logits, "logits")
    n, c = logits.shape
    soft = isinstance(target, np.ndarray) and target.dtype.kind == "f" and target.ndim == 2
    if soft:
        same_dtype(logits, target, "target", "logits")
        if target.shape != logits.shape:
            raise ValueError(f"target probabilities must have the logits' shape {logits.shape}, "
                             f"got {target.shape}")
    else:
        _class_indices(target, n, logits.shape)
    rowmax = logits.max(axis=1)
    shifted = logits - rowmax[:, None]
    sumexp = np.exp(shifted).sum(axis=1)
    logsum = np.log(sumexp.astype(np.float64))
    if soft:
        tsum64 = target.sum(axis=1, dtype=np.float64)
        dot = (target * shifted).sum(axis=1, dtype=np.float64)
        per_row, count, tsum = logsum * tsum64 - dot, n, tsum64.astype(logits.dtype)
    else:
        kept = _check_targets(target, c, ignore_index)
        picked = shifted[np.arange(n), np.where(kept, target, 0)]
        per_row = np.where(kept, logsum - picked.astype(np.float64), 0.0)
        count, tsum = int(kept.sum()), None
    loss = _reduce(per_row, reduction, count, logits.dtype)
    return loss, CrossEntropyCtx(logits, target, rowmax, sumexp, tsum, soft, reduction,
                                 ignore_index, count)


def _row_grad(dloss, ctx, n, dtype):
    """g_i (N,) float64 from dloss and the reduction (the mean divides by ctx.count)."""
    darr, g = _upstream(dloss, ctx.reduction, (n,), dtype)
    if darr is not None:
        return darr.astype(np.float64)
    if ctx.reduction == "mean":
        g = g / ctx.count if ctx.count else 0.0
    return np.full(n, g)


def cross_entropy_backward(dloss, ctx):
    """Gradient of cross_entropy_forward with respect to logits: dloss (a number or 0-d array for
    "mean"/"sum", (N,) for "none") -> dlogits (N, C)."""
    if not isinstance(ctx, CrossEntropyCtx):
        raise TypeError(f"ctx must be a CrossEntropyCtx, got {type(ctx).__name__}")
    x = ctx.logits
    n = x.shape[0]
    g = _row_grad(dloss, ctx, n, x.dtype)
    if not ctx.soft:
        kept = ctx.target != ctx.ignore_index
        g = np.where(kept, g, 0.0)
    # g_i * softmax_i = (g_i / sumexp_i) * exp(x_i - rowmax_i), in the logits' dtype
    dx = np.exp(x - ctx.rowmax[:, None])
    if ctx.soft:
        dx *= (g * ctx.tsum / ctx.sumexp).astype(x.dtype)[:, None]
        dx -= g.astype(x.dtype)[:, None] * ctx.target
        return dx
    dx *= (g / ctx.sumexp).astype(x.dtype)[:, None]
    dx[~kept] = 0                                   # ignored rows: exactly 0, even for NaN logits
    rows = np.nonzero(kept)[0]
    dx[rows, ctx.target[rows]] -= g[rows].astype(x.dtype)
    return dx


# ------------------------------------------------------------------------------------------------
# NLL
# ------------------------------------------------------------------------------------------------

class NLLLossCtx:
    """What nll_loss_backward needs: logp (N, C) (its shape and dtype), target (N,) int64,
    reduction, ignore_index, count (rows that count in the mean)."""
    __slots__ = ("logp", "target", "reduction", "ignore_index", "count")

    def __init__(self, logp, target, reduction, ignore_index, count):
        self.logp, self.target, self.reduction = logp, target, reduction
        self.ignore_index, self.count = ignore_index, count

    def __repr__(self):
        return (f"NLLLossCtx(logp={self.logp.shape}, reduction={self.reduction!r}, "
                f"ignore_index={self.ignore_index}, count={self.count})")


def nll_loss_forward(logp, target, reduction="mean", ignore_index=-100):
    """Negative log-likelihood: loss_i = -logp[i, target[i]].

    logp (N, C) float32/float64; target (N,) int64 class indices (rows equal to ignore_index
    contribute 0 and are left out of the mean's denominator; other indices outside [0, C) raise
    ValueError). reduction "mean", "sum" or "none". Returns ``(loss, ctx)``.
    """
    float_array(logp, "logp")
    reduction = _reduction(reduction)
    ignore_index = _index(ignore_index, "ignore_index")
    _logits_2d(logp, "logp")
    n, c = logp.shape
    _class_indices(target, n, logp.shape)
    kept = _check_targets(target, c, ignore_index)
    picked = logp[np.arange(n), np.where(kept, target, 0)].astype(np.float64)
    per_row = np.where(kept, -picked, 0.0)
    count = int(kept.sum())
    return _reduce(per_row, reduction, count, logp.dtype), NLLLossCtx(logp, target, reduction,
                                                                       ignore_index, count)


def nll_loss_backward(dloss, ctx):
    """Gradient of nll_loss_forward with respect to logp: dloss -> dlogp (N, C), -g_i at
    [i, target[i]] and 0 elsewhere."""
    if not isinstance(ctx, NLLLossCtx):
        raise TypeError(f"ctx must be a NLLLossCtx, got {type(ctx).__name__}")
    n = ctx.logp.shape[0]
    g = _row_grad(dloss, ctx, n, ctx.logp.dtype)
    dx = np.zeros(ctx.logp.shape, ctx.logp.dtype)
    rows = np.nonzero(ctx.target != ctx.ignore_index)[0]
    dx[rows, ctx.target[rows]] = -g[rows]
    return dx


# ------------------------------------------------------------------------------------------------
# MSE and L1
# ------------------------------------------------------------------------------------------------

class _PointwiseLossCtx:
    __slots__ = ("pred", "target", "reduction")

    def __init__(self, pred, target, reduction):
        self.pred, self.target, self.reduction = pred, target, reduction

    def __repr__(self):
        return f"{type(self).__name__}(pred={self.pred.shape}, reduction={self.reduction!r})"


class MSELossCtx(_PointwiseLossCtx):
    """What mse_loss_backward needs: pred and target (same shape), reduction."""
    __slots__ = ()


class L1LossCtx(_PointwiseLossCtx):
    """What l1_loss_backward needs: pred and target (same shape), reduction."""
    __slots__ = ()


def _pointwise_args(pred, target, reduction):
    float_array(pred, "pred")
    same_dtype(pred, target, "target", "pred")
    reduction = _reduction(reduction)
    if pred.shape != target.shape:
        raise ValueError(f"target must have pred's shape {pred.shape} (no broadcasting), got {target.shape}")
    return reduction


def _pointwise_grad(dloss, ctx):
    pred = ctx.pred
    darr, g = _upstream(dloss, ctx.reduction, pred.shape, pred.dtype)
    if darr is not None:
        return darr
    if ctx.reduction == "mean":
        g = g / pred.size if pred.size else 0.0
    return pred.dtype.type(g)


def mse_loss_forward(pred, target, reduction="mean"):
    """Mean squared error, elementwise ``(pred - target)**2``; pred and target the same shape
    (no broadcasting) and dtype. reduction "mean", "sum" or "none" (pred's shape)."""
    reduction = _pointwise_args(pred, target, reduction)
    d = pred - target
    if reduction == "none":
        loss = d * d
    else:
        loss = _reduce(np.square(d.astype(np.float64)), reduction, d.size, pred.dtype)
    return loss, MSELossCtx(pred, target, reduction)


def mse_loss_backward(dloss, ctx):
    """Gradient of mse_loss_forward with respect to pred: dpred = 2 g (pred - target)."""
    if not isinstance(ctx, MSELossCtx):
        raise TypeError(f"ctx must be a MSELossCtx, got {type(ctx).__name__}")
    g = _pointwise_grad(dloss, ctx)
    return (2 * g) * (ctx.pred - ctx.target)


def l1_loss_forward(pred, target, reduction="mean"):
    """Mean absolute error, elementwise ``|pred - target|``; pred and target the same shape
    (no broadcasting) and dtype. reduction "mean", "sum" or "none" (pred's shape)."""
    reduction = _pointwise_args(pred, target, reduction)
    d = np.abs(pred - target)
    loss = d if reduction == "none" else _reduce(d.astype(np.float64), reduction, d.size, pred.dtype)
    return loss, L1LossCtx(pred, target, reduction)


def l1_loss_backward(dloss, ctx):
    """Gradient of l1_loss_forward with respect to pred: dpred = g * sign(pred - target),
    sign(0) = 0 (torch's subgradient)."""
    if not isinstance(ctx, L1LossCtx):
        raise TypeError(f"ctx must be a L1LossCtx, got {type(ctx).__name__}")
    g = _pointwise_grad(dloss, ctx)
    return g * np.sign(ctx.pred - ctx.target)
