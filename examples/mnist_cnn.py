"""A LeNet-style CNN on MNIST trained with fastnn.fit.

conv 1->8 5x5, ReLU, max-pool 2, conv 8->16 5x5, ReLU, max-pool 2, flatten, linear 256->10.
Reads the IDX files from a directory (default: ../shared/data/mnist-t10k beside this
repository, the 10,000-image MNIST test set), trains on its first 8,000 images and tests on its
last 2,000.

    python examples/mnist_cnn.py [DIR] [--epochs 4] [--batch-size 64] [--backend compiled]
"""
import argparse
import sys
import time
from pathlib import Path

import fastnn
from fastnn import nn, optim
from fastnn.data import load_mnist

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-t10k"


def lenet():
    """The LeNet-style model: input (N, 1, 28, 28), logits (N, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),      # (N, 8, 12, 12)
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),     # (N, 16, 4, 4)
        nn.Flatten(), nn.Linear(256, 10))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIR), help="MNIST IDX directory")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    parser.add_argument("--backend", choices=["compiled", "reference"], default="compiled")
    parser.add_argument("--train-size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        x, y = load_mnist(args.directory, "t10k", flatten=False)
    except (OSError, ValueError) as err:
        print(f"mnist_cnn: {err}", file=sys.stderr)
        return 2
    x_train, y_train = x[:args.train_size], y[:args.train_size]
    x_test, y_test = x[-2000:], y[-2000:]

    fastnn.use_backend(args.backend)
    fastnn.manual_seed(args.seed)
    model = lenet()
    print(model)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    history = fastnn.fit(model, nn.CrossEntropyLoss(), opt, x_train, y_train, epochs=args.epochs,
                         batch_size=args.batch_size, validation=(x_test, y_test), seed=args.seed)
    elapsed = time.perf_counter() - start
    for e in range(args.epochs):
        print(f"epoch {e + 1}: loss {history['loss'][e]:.4f}  accuracy {history['accuracy'][e]:.2%}  "
              f"test accuracy {history['val_accuracy'][e]:.2%}")
    print(f"test accuracy {history['val_accuracy'][-1]:.2%} on {len(x_test)} images after "
          f"{args.epochs} epochs, {elapsed:.1f} s on the {args.backend} backend")
    return 0


if __name__ == "__main__":
    sys.exit(main())
