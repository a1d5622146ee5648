"""``python -m fastnn demo``: train the same MLP on both backends and compare.

From one seed, the model is built and trained twice: on the compiled kernels
(fastnn.functional) and on their numpy twins (fastnn.reference). The demo prints the two
per-epoch loss curves side by side (they agree to rounding), the final test accuracy of each,
and how much faster the compiled run trained.

Data: the 8x8 scikit-learn digits (1,797 images, 64 features; ``pip install "fastnn[demo]"``
installs scikit-learn) with an MLP 64-256-10, or MNIST with ``--mnist DIR`` (a directory of IDX
files: train-* and t10k-*, or just t10k-*, then split 8,000 train / 2,000 test) with an MLP
784-256-10.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "MODELS", "build_mlp", "build_cnn", "load_data"]


def build_mlp(in_features, classes, rng):
    """Linear(in, 256) - ReLU - Linear(256, classes)."""
    from . import nn
    return nn.Sequential(nn.Linear(in_features, 256, rng=rng), nn.ReLU(), nn.Linear(256, classes, rng=rng))


def build_cnn(image_shape, classes, rng):
    """A small LeNet-style CNN for (1, H, W) images: conv 1->8 3x3 (padding 1), ReLU, max-pool 2,
    conv 8->16 3x3 (padding 1), ReLU, max-pool 2, flatten, linear -> classes."""
    from . import nn
    c, h, w = image_shape
    return nn.Sequential(
        nn.Conv2d(c, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * (h // 4) * (w // 4), classes, rng=rng))


# --model NAME -> (builder(input_shape, classes, rng), flatten): input_shape is x.shape[1:] of
# the training data, loaded as (N, features) when flatten else as images (N, 1, H, W).
MODELS = {"mlp": (lambda shape, classes, rng: build_mlp(shape[0], classes, rng), True),
          "cnn": (build_cnn, False)}


class DemoError(Exception):
    """A problem the user can fix (missing scikit-learn, bad MNIST directory)."""


def load_data(mnist_dir=None, seed=0, flatten=True):
    """(x_train, y_train, x_test, y_test, description): float32 features in [0, 1], int64 labels."""
    from .data import load_mnist
    if mnist_dir is not None:
        d = Path(mnist_dir)
        try:
            if (d / "train-images-idx3-ubyte.gz").exists() or (d / "train-images-idx3-ubyte").exists():
                xtr, ytr = load_mnist(d, "train", flatten=flatten)
                xte, yte = load_mnist(d, "t10k", flatten=flatten)
                desc = f"MNIST ({len(xtr)} train / {len(xte)} test)"
            else:
                x, y = load_mnist(d, "t10k", flatten=flatten)
                xtr, ytr, xte, yte = x[:8000], y[:8000], x[-2000:], y[-2000:]
                desc = f"MNIST t10k split ({len(xtr)} train / {len(xte)} test)"
        except (OSError, ValueError) as err:
            raise DemoError(f"cannot read MNIST from {d}: {err}") from None
        return xtr, ytr, xte, yte, desc
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DemoError(
            "the default demo data set (8x8 digits) comes from scikit-learn, which is not installed.\n"
            "  install it:  pip install \"fastnn[demo]\"   (or: pip install scikit-learn)\n"
            "  or use MNIST:  python -m fastnn demo --mnist DIR   (DIR holding t10k-images-idx3-ubyte.gz "
            "and t10k-labels-idx1-ubyte.gz)") from None
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    if not flatten:
        x = x.reshape(-1, 1, 8, 8)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    test = order[:300]
    train = order[300:]
    return x[train], y[train], x[test], y[test], f"scikit-learn digits ({len(train)} train / {len(test)} test)"


def _train(backend, args, data, threads):
    import fastnn
    from . import nn, optim
    from .training import fit, evaluate
    xtr, ytr, xte, yte = data
    limiter = None
    if backend == "reference" and threads is not None:
        # numpy's BLAS gets the same thread count as the compiled run, for a fair comparison
        try:
            from threadpoolctl import threadpool_limits
            limiter = threadpool_limits(limits=threads, user_api="blas")
        except ImportError:
            pass
    try:
        with fastnn.use_backend(backend):
            rng = np.random.default_rng(args.seed)
            builder, _ = MODELS[args.model]
            model = builder(xtr.shape[1:], int(ytr.max()) + 1, rng)
            loss_fn = nn.CrossEntropyLoss()
            opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
            hist = fit(model, loss_fn, opt, xtr, ytr, epochs=args.epochs, batch_size=args.batch_size,
                       validation=(xte, yte), seed=args.seed,
                       progress=False if args.no_progress else None)
            test_loss, test_acc = evaluate(model, loss_fn, xte, yte)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    return hist, test_acc


def main(argv=None):
    """Run the demo; argv like sys.argv[1:]. Returns the exit status (0 on success)."""
    parser = argparse.ArgumentParser(
        prog="fastnn demo",
        description="Train the same MLP from one seed on fastnn's compiled kernels and on their "
                    "numpy twins; print both loss curves, test accuracy and the speedup.")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: 10 on digits, 5 on MNIST)")
    parser.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate, momentum 0.9 (default 0.05)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for fastnn's kernels and numpy's BLAS (default: as configured)")
    parser.add_argument("--mnist", metavar="DIR", default=None,
                        help="train on MNIST IDX files in DIR (784-256-10) instead of the digits")
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp", help="model (default mlp)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and batch order")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 5 if args.mnist else 10
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be >= 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")

    import fastnn
    try:
        xtr, ytr, xte, yte, desc = load_data(args.mnist, args.seed, flatten=MODELS[args.model][1])
    except DemoError as err:
        print(f"fastnn demo: {err}", file=sys.stderr)
        return 2
    if args.threads is not None:
        fastnn.set_num_threads(args.threads)
    threads = fastnn.get_num_threads()
    sizes = f" {xtr.shape[1]}-256-{int(ytr.max()) + 1}" if args.model == "mlp" else ""
    print(f"fastnn demo: {args.model.upper()}{sizes} on {desc}")
    print(f"  {args.epochs} epochs, batch {args.batch_size}, SGD(lr={args.lr}, momentum=0.9), "
          f"seed {args.seed}, {threads} thread{'s' if threads != 1 else ''}")
    print()

    results = {}
    for backend in ("compiled", "reference"):
        label = "compiled" if backend == "compiled" else "numpy"
        print(f"training on {label} ...", flush=True)
        start = time.perf_counter()
        hist, acc = _train(backend, args, (xtr, ytr, xte, yte), args.threads)
        results[backend] = (hist, acc, sum(hist["time"]), time.perf_counter() - start)

    hc, hr = results["compiled"][0], results["reference"][0]
    print()
    print(f"{'epoch':>5}  {'loss compiled':>13}  {'loss numpy':>10}  {'|diff|':>8}  "
          f"{'test acc compiled':>17}  {'test acc numpy':>14}")
    for e in range(args.epochs):
        lc, lr = hc["loss"][e], hr["loss"][e]
        print(f"{e + 1:>5}  {lc:>13.6f}  {lr:>10.6f}  {abs(lc - lr):>8.1e}  "
              f"{hc['val_accuracy'][e]:>16.2%}  {hr['val_accuracy'][e]:>14.2%}")
    tc, tr = results["compiled"][2], results["reference"][2]
    print()
    print(f"final test accuracy: compiled {results['compiled'][1]:.2%}, numpy {results['reference'][1]:.2%}")
    print(f"training time:       compiled {tc:.2f} s, numpy {tr:.2f} s  ->  "
          f"compiled is {tr / tc:.1f}x faster" if tc > 0 else "")
    return 0


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
