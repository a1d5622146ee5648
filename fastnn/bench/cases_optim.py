"""Benchmark cases for the optim family: one optimizer step over 1M float32 parameters.

Implementations:
    "compiled"             fastnn.optim.<Opt>.step() on the compiled kernels (fused, one pass)
    "reference"            the same class under use_backend("reference") (numpy twins)
    "torch"                torch.optim.<Opt> with its defaults (on CPU tensors that is the
                           single-tensor loop unless foreach is asked for)
    "torch-foreach=False"  torch.optim.<Opt>(..., foreach=False), the single-tensor algorithm
    "torch-foreach=True"   torch.optim.<Opt>(..., foreach=True), the multi-tensor algorithm
Plus the per-call overhead of one kernel call on a 10-element array.
"""
import numpy as np

from . import Case, register, backend, torch_or_unavailable

TORCH_IMPLS = ("torch", "torch-foreach=False", "torch-foreach=True")
IMPLS = ("compiled", "reference") + TORCH_IMPLS


class _Param:
    """A bare parameter (.data, .grad), as fastnn.nn.Parameter."""

    def __init__(self, data, grad):
        self.data = data
        self.grad = grad


def _optimizer_step(opt_name, n, kwargs, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        p = rng.standard_normal(n).astype(dtype)
        g = rng.standard_normal(n).astype(dtype)
        if impl in TORCH_IMPLS:
            torch = torch_or_unavailable()
            t = torch.from_numpy(p)
            t.grad = torch.from_numpy(g)
            extra = {} if impl == "torch" else {"foreach": impl.endswith("True")}
            opt = getattr(torch.optim, opt_name)([t], **kwargs, **extra)
            opt.step()             # state created outside the timing
            return opt.step
        from fastnn import optim, use_backend
        backend(impl)              # Unavailable for an unknown impl
        opt = getattr(optim, opt_name)([_Param(p, g)], **kwargs)
        with use_backend(impl):
            opt.step()

        def run():
            with use_backend(impl):
                opt.step()
        return run
    return make


def _adam_kernel_small(n=10, dtype=np.float32):
    """One adam_step kernel call on n elements: the binding's per-call overhead."""
    def make(impl):
        rng = np.random.default_rng(0)
        p = rng.standard_normal(n).astype(dtype)
        g = rng.standard_normal(n).astype(dtype)
        m, v = np.zeros(n, dtype), np.zeros(n, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            t = torch.from_numpy(p)
            t.grad = torch.from_numpy(g)
            opt = torch.optim.Adam([t], foreach=False)
            opt.step()
            return opt.step
        F = backend(impl)
        return lambda: F.adam_step(p, g, m, v, 3, 1e-3)
    return make


_N = 1 << 20
_STEPS = [
    ("SGD", "SGD momentum=0.9", dict(lr=1e-3, momentum=0.9), True),
    ("SGD", "SGD plain", dict(lr=1e-3), False),
    ("Adagrad", "Adagrad", dict(lr=1e-2), True),
    ("RMSprop", "RMSprop", dict(lr=1e-2), True),
    ("RMSprop", "RMSprop centered momentum=0.9", dict(lr=1e-2, centered=True, momentum=0.9), False),
    ("Adam", "Adam", dict(lr=1e-3), True),
    ("Adam", "Adam amsgrad", dict(lr=1e-3, amsgrad=True), False),
    ("AdamW", "AdamW", dict(lr=1e-3), True),
]
for _opt, _label, _kw, _quick in _STEPS:
    register(Case("optim", f"{_label} step 1M float32", _optimizer_step(_opt, _N, _kw),
                  impls=IMPLS, quick=_quick, params={"N": _N}))
register(Case("optim", "adam_step 10 elements (call overhead)", _adam_kernel_small(),
              impls=("compiled", "reference", "torch"), params={"N": 10}))
