"""A single perceptron learns AND and OR but not XOR; two layers learn XOR.

A perceptron is one Linear(2, 1) unit with a sigmoid: its decision boundary is a straight line,
and no line separates XOR's (0,1),(1,0) from (0,0),(1,1). A hidden layer bends the boundary.

    python examples/perceptron_logic.py [--epochs 2000] [--seed 0]
"""
import argparse

import numpy as np

import fastnn
from fastnn import nn, optim

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
TARGETS = {
    "AND": np.array([[0], [0], [0], [1]], dtype=np.float64),
    "OR": np.array([[0], [1], [1], [1]], dtype=np.float64),
    "XOR": np.array([[0], [1], [1], [0]], dtype=np.float64),
}


def train(model, y, epochs, lr):
    """Full-batch gradient descent on the mean squared error; returns the model's outputs."""
    loss_fn = nn.MSELoss()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        model.zero_grad()
        loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        opt.step()
    return model(X)


def perceptron(seed):
    return nn.Sequential(nn.Linear(2, 1, dtype=np.float64, rng=seed), nn.Sigmoid())


def two_layer(seed):
    return nn.Sequential(nn.Linear(2, 8, dtype=np.float64, rng=seed), nn.Tanh(),
                         nn.Linear(8, 1, dtype=np.float64, rng=seed + 1), nn.Sigmoid())


def report(name, gate, out, y):
    pred = (out > 0.5).astype(int)
    correct = int((pred == y).sum())
    outputs = " ".join(f"{v:.2f}" for v in out.ravel())
    verdict = "learned" if correct == 4 else "NOT learned"
    print(f"{name:<18} {gate:<4} outputs [{outputs}]  {correct}/4 correct  -> {verdict}")
    return correct


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fastnn.manual_seed(args.seed)
    results = {}
    for gate in ("AND", "OR", "XOR"):
        y = TARGETS[gate]
        results["perceptron", gate] = report("single perceptron", gate,
                                             train(perceptron(args.seed), y, args.epochs, args.lr), y)
    y = TARGETS["XOR"]
    results["two-layer", "XOR"] = report("two-layer net", "XOR",
                                         train(two_layer(args.seed), y, args.epochs, args.lr), y)
    ok = (results["perceptron", "AND"] == 4 and results["perceptron", "OR"] == 4
          and results["perceptron", "XOR"] < 4 and results["two-layer", "XOR"] == 4)
    print("as expected: a line separates AND and OR, not XOR; a hidden layer solves XOR" if ok
          else "unexpected result (try another --seed or more --epochs)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
