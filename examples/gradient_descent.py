"""Plain gradient descent on f(x, y) = x^2 + y^2, printing the path to the minimum at (0, 0).

The point is a fastnn Parameter and the update is fastnn.optim.SGD's: set ``grad``, call
``step()``; exactly what a training loop does with a model's parameters.

    python examples/gradient_descent.py [--lr 0.1] [--steps 25] [--start 3 -4]
"""
import argparse

import numpy as np

from fastnn import optim
from fastnn.nn import Parameter


def f(p):
    return float(np.sum(p * p))


def grad_f(p):
    return 2 * p


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--start", type=float, nargs=2, default=[3.0, -4.0], metavar=("X", "Y"))
    args = parser.parse_args(argv)

    point = Parameter(np.array(args.start, dtype=np.float64))
    opt = optim.SGD([point], lr=args.lr)
    print(f"minimising f(x, y) = x^2 + y^2 from ({args.start[0]:g}, {args.start[1]:g}), lr {args.lr}")
    print(f"{'step':>4}  {'x':>10}  {'y':>10}  {'f(x, y)':>12}")
    for step in range(args.steps + 1):
        x, y = point.data
        print(f"{step:>4}  {x:>10.6f}  {y:>10.6f}  {f(point.data):>12.6g}")
        if step == args.steps:
            break
        point.grad = grad_f(point.data)   # df/dx = 2x, df/dy = 2y
        opt.step()                        # point <- point - lr * grad
    # each step multiplies the point by (1 - 2 lr): for 0 < lr < 1 it shrinks towards (0, 0)
    print(f"after {args.steps} steps: f = {f(point.data):.3g} (minimum 0 at (0, 0))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
