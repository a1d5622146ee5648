"""Benchmark cases for a whole training step: MLP 784-256-10, float32, SGD.

One step = linear+relu (fused) -> linear -> cross-entropy forward and backward -> backward
through both linears -> SGD update of the 4 parameter arrays, written directly on the functional
API for "compiled" (fastnn.functional) and "reference" (fastnn.reference), and as the idiomatic
nn.Sequential + optim.SGD loop for "torch".

The step needs cross_entropy_forward/backward and sgd_step; an implementation without them
raises Unavailable (the case is skipped, not failed).
"""
import numpy as np

from . import Case, Unavailable, backend, register, torch_or_unavailable

LR = 0.01


def _kernels(impl):
    F = backend(impl)
    names = ("linear_forward", "linear_backward", "cross_entropy_forward",
             "cross_entropy_backward", "sgd_step")
    missing = [n for n in names if getattr(F, n, None) is None]
    if missing:
        raise Unavailable(f"{impl} has no {', '.join(missing)}")
    return [getattr(F, n) for n in names]


def _data(n, fin, hidden, classes, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, fin)).astype(dtype)
    target = rng.integers(0, classes, n).astype(np.int64)
    w1 = (rng.standard_normal((hidden, fin)) / np.sqrt(fin)).astype(dtype)
    b1 = np.zeros(hidden, dtype)
    w2 = (rng.standard_normal((classes, hidden)) / np.sqrt(hidden)).astype(dtype)
    b2 = np.zeros(classes, dtype)
    return x, target, [w1, b1, w2, b2]


def _mlp_step(n, fin=784, hidden=256, classes=10, dtype=np.float32):
    def make(impl):
        x, target, params = _data(n, fin, hidden, classes, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            model = torch.nn.Sequential(torch.nn.Linear(fin, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, classes))
            with torch.no_grad():
                for p, a in zip(model.parameters(), params):
                    p.copy_(torch.from_numpy(a))
            opt = torch.optim.SGD(model.parameters(), lr=LR)
            tx, tt = torch.from_numpy(x), torch.from_numpy(target)
            loss_fn = torch.nn.functional.cross_entropy

            def run():
                opt.zero_grad()
                loss = loss_fn(model(tx), tt)
                loss.backward()
                opt.step()
                return loss
            return run

        lin_f, lin_b, ce_f, ce_b, sgd = _kernels(impl)
        w1, b1, w2, b2 = params
        bufs = [np.zeros_like(p) for p in params]
        dloss = np.ones((), dtype)
        # the upstream gradient of the scalar loss: a 0-d array of the logits' dtype, or a
        # Python float if that is what this cross_entropy_backward takes
        try:
            logits, ctx = ce_f(np.zeros((n, classes), dtype), target)
            ce_b(dloss, ctx)
        except TypeError:
            dloss = 1.0

        def run():
            h, c1 = lin_f(x, w1, b1, "relu")
            logits, c2 = lin_f(h, w2, b2, None)
            loss, cl = ce_f(logits, target)
            dlogits = ce_b(dloss, cl)
            dh, dw2, db2 = lin_b(dlogits, c2)
            _, dw1, db1 = lin_b(dh, c1, input_grad=False)   # as torch: x needs no grad
            for p, g, buf in zip((w1, b1, w2, b2), (dw1, db1, dw2, db2), bufs):
                sgd(p, g, buf, LR)
            return loss
        return run
    return make


def _flops(n, fin=784, hidden=256, classes=10):
    """The step's GEMMs: both layers forward, their weight gradients, and the hidden layer's input
    gradient (the first layer's is not needed), 2 per multiply-add."""
    return 2.0 * n * (2 * fin * hidden + 3 * hidden * classes)


register(Case("mlp", "mlp train step 784-256-10 batch 64", _mlp_step(64),
              params={"N": 64, "in": 784, "hidden": 256, "out": 10}, flops=_flops(64)))
for _n in (16, 256, 1024):
    register(Case("mlp", f"mlp train step 784-256-10 batch {_n}", _mlp_step(_n), quick=False,
                  params={"N": _n, "in": 784, "hidden": 256, "out": 10}, flops=_flops(_n)))
