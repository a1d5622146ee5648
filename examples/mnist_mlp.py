"""The Keras-style MNIST MLP (784-256-10, ReLU) trained with fastnn.fit.

Reads the IDX files from a directory (default: ../shared/data/mnist-t10k beside this
repository, which holds the 10,000-image MNIST test set), trains on its first 8,000 images and
tests on its last 2,000 (with a full MNIST directory holding train-* files too, pass --full to
train on the 60,000 and test on the 10,000).

    python examples/mnist_mlp.py [DIR] [--epochs 8] [--batch-size 64] [--backend compiled]
"""
import argparse
import sys
import time
from pathlib import Path


import fastnn
from fastnn import nn, optim
from fastnn.data import load_mnist

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-t10k"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIR), help="MNIST IDX directory")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--backend", choices=["compiled", "reference"], default="compiled")
    parser.add_argument("--train-size", type=int, default=8000)
    parser.add_argument("--full", action="store_true", help="train-* for training, t10k-* for testing")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        if args.full:
            x_train, y_train = load_mnist(args.directory, "train")
            x_test, y_test = load_mnist(args.directory, "t10k")
        else:
            x, y = load_mnist(args.directory, "t10k")
            x_train, y_train = x[:args.train_size], y[:args.train_size]
            x_test, y_test = x[-2000:], y[-2000:]
    except (OSError, ValueError) as err:
        print(f"mnist_mlp: {err}", file=sys.stderr)
        return 2

    fastnn.use_backend(args.backend)
    fastnn.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    print(model)
    loss_fn = nn.CrossEntropyLoss()   # softmax + cross-entropy on the logits, fused
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    history = fastnn.fit(model, loss_fn, opt, x_train, y_train, epochs=args.epochs,
                         batch_size=args.batch_size, validation=(x_test, y_test), seed=args.seed)
    elapsed = time.perf_counter() - start
    for e in range(args.epochs):
        print(f"epoch {e + 1}: loss {history['loss'][e]:.4f}  accuracy {history['accuracy'][e]:.2%}  "
              f"test loss {history['val_loss'][e]:.4f}  test accuracy {history['val_accuracy'][e]:.2%}")
    print(f"test accuracy {history['val_accuracy'][-1]:.2%} on {len(x_test)} images after "
          f"{args.epochs} epochs on {len(x_train)} ({args.backend} backend, {elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
