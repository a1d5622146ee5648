"""Benchmark cases for the activation family (elementwise: memory-bound for big arrays, per-call
overhead for tiny ones)."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable, torch_no_grad

_TORCH = {"relu": "nn.functional.relu", "leaky_relu": "nn.functional.leaky_relu",
          "sigmoid": "sigmoid", "tanh": "tanh", "sign": "sign", "gelu": "nn.functional.gelu"}


def _torch_fn(torch, op):
    f = torch
    for part in _TORCH[op].split("."):
        f = getattr(f, part)
    return f
_NAIVE = {"relu": lambda x: np.maximum(x, 0), "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
          "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh, "sign": np.sign}


def _fwd(op, shape, dtype=np.float32):
    def make(impl):
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            return torch_no_grad(torch, _torch_fn(torch, op), torch.from_numpy(x))
        if impl == "numpy-naive":
            f = _NAIVE[op]
            return lambda: f(x)
        f = getattr(backend(impl), f"{op}_forward")
        return lambda: f(x)
    return make


def _bwd(op, shape, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x).requires_grad_()
            ty = _torch_fn(torch, op)(tx)
            tdy = torch.from_numpy(dy)
            return lambda: torch.autograd.grad(ty, tx, tdy, retain_graph=True)
        F = backend(impl)
        _, ctx = getattr(F, f"{op}_forward")(x)
        b = getattr(F, f"{op}_backward")
        return lambda: b(dy, ctx)
    return make


_N = "4096x1000"
register(Case("activation", "relu_forward 10 elements (call overhead)", _fwd("relu", (10,)),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"n": 10}))
register(Case("activation", "relu_backward 10 elements (call overhead)", _bwd("relu", (10,)),
              params={"n": 10}))
for _op in ("relu", "sigmoid", "tanh", "gelu"):
    register(Case("activation", f"{_op}_forward {_N}", _fwd(_op, (4096, 1000)),
                  impls=("compiled", "reference", "torch") + (("numpy-naive",) if _op in _NAIVE else ()),
                  params={"n": 4096000}))
    register(Case("activation", f"{_op}_backward {_N}", _bwd(_op, (4096, 1000)),
                  params={"n": 4096000}))
for _op in ("leaky_relu", "sign"):
    register(Case("activation", f"{_op}_forward {_N}", _fwd(_op, (4096, 1000)), quick=False,
                  impls=("compiled", "reference", "numpy-naive", "torch"), params={"n": 4096000}))
