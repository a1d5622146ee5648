"""Benchmark cases for the softmax family."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable, torch_no_grad


def _naive_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _fwd(op, shape, axis, dtype=np.float32):
    def make(impl):
        x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            return torch_no_grad(torch, getattr(torch, op), torch.from_numpy(x), axis)
        if impl == "numpy-naive":
            return lambda: _naive_softmax(x, axis)
        f = getattr(backend(impl), f"{op}_forward")
        return lambda: f(x, axis)
    return make


def _bwd(op, shape, axis, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x).requires_grad_()
            ty = getattr(torch, op)(tx, axis)
            tdy = torch.from_numpy(dy)
            return lambda: torch.autograd.grad(ty, tx, tdy, retain_graph=True)
        F = backend(impl)
        _, ctx = getattr(F, f"{op}_forward")(x, axis)
        b = getattr(F, f"{op}_backward")
        return lambda: b(dy, ctx)
    return make


register(Case("softmax", "softmax_forward 4096x1000 axis=-1", _fwd("softmax", (4096, 1000), -1),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 4096, "C": 1000}))
register(Case("softmax", "softmax_backward 4096x1000 axis=-1", _bwd("softmax", (4096, 1000), -1),
              params={"N": 4096, "C": 1000}))
register(Case("softmax", "log_softmax_forward 4096x1000 axis=-1", _fwd("log_softmax", (4096, 1000), -1),
              params={"N": 4096, "C": 1000}))
register(Case("softmax", "log_softmax_backward 4096x1000 axis=-1", _bwd("log_softmax", (4096, 1000), -1),
              params={"N": 4096, "C": 1000}))
register(Case("softmax", "softmax_forward 64x10 (call overhead)", _fwd("softmax", (64, 10), -1),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 64, "C": 10}))
register(Case("softmax", "softmax_forward 32x64x32x32 axis=1 (channels, strided)",
              _fwd("softmax", (32, 64, 32, 32), 1), quick=False,
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 32, "C": 64}))
register(Case("softmax", "softmax_forward 1x10 (call overhead)", _fwd("softmax", (1, 10), -1),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 1, "C": 10}))
register(Case("softmax", "softmax_forward 1x4096000 (one long row, split across threads)",
              _fwd("softmax", (1, 4_096_000), -1), quick=False,
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 1, "C": 4_096_000}))
