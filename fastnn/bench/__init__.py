"""Benchmark cases shared by the pytest-benchmark suites (benchmarks/) and ``python -m fastnn bench``.

A case is one operation at one size, runnable on several implementations:

    "compiled"   fastnn.functional (the C kernels)
    "reference"  fastnn.reference (the numpy twins)
    "torch"      PyTorch CPU, when installed
    other names  for extra baselines (e.g. "numpy-naive" for the one-liner a user would write)

``flops`` states the floating-point operations of a GEMM-bound case (its direct algorithm), from
which ``bench --roofline`` gives the case a lower bound on this machine.

``make(impl)`` returns a zero-argument callable that runs the operation once on inputs it built
beforehand (so timing covers the call, not the setup), or raises Unavailable when that
implementation cannot run (torch missing, family not built). Each family registers its cases in
fastnn/bench/cases_<family>.py.
"""
import importlib
from dataclasses import dataclass, field
from typing import Callable, Tuple

__all__ = ["Case", "Unavailable", "register", "all_cases", "IMPLS"]

IMPLS = ("compiled", "reference", "torch")

# families whose cases exist; a missing cases module is simply skipped
_CASE_MODULES = ("linear", "activation", "softmax", "loss", "dropout", "optim", "mlp",
                 "conv", "pool", "norm", "rnn", "embedding", "threads")


class Unavailable(Exception):
    """This implementation cannot run the case here (not installed, not built)."""


@dataclass
class Case:
    family: str                      # "linear", "softmax", ...
    name: str                        # the group label, op and size: "linear_forward relu 64x784->256"
    make: Callable[[str], Callable[[], object]]
    impls: Tuple[str, ...] = IMPLS
    quick: bool = True               # part of the quick `python -m fastnn bench` set
    params: dict = field(default_factory=dict)   # numbers for scaling plots: {"N": 64, ...}
    flops: float = 0.0     # GEMM work of the direct algorithm, 2 per multiply-add (0: not stated)


_REGISTRY = []


def register(case):
    """Add a case to the registry (called at import of a cases_<family> module)."""
    _REGISTRY.append(case)
    return case


def all_cases():
    """Every registered case, importing the cases modules once."""
    if not _REGISTRY:
        for fam in _CASE_MODULES:
            try:
                importlib.import_module(f"fastnn.bench.cases_{fam}")
            except ModuleNotFoundError as err:
                if err.name != f"fastnn.bench.cases_{fam}":
                    raise
    return list(_REGISTRY)


def torch_or_unavailable():
    """The torch module, or Unavailable if it is not installed."""
    try:
        import torch
    except Exception as err:  # ImportError, or a broken install
        raise Unavailable(f"torch not installed ({err.__class__.__name__})")
    return torch


def backend(impl):
    """fastnn.functional or fastnn.reference for "compiled" / "reference"."""
    if impl == "compiled":
        from fastnn import functional
        return functional
    if impl == "reference":
        from fastnn import reference
        return reference
    raise Unavailable(impl)


def torch_no_grad(torch, f, *args, **kwargs):
    """A run() timing torch's forward ``f(*args, **kwargs)`` alone, under torch.no_grad()."""
    def run():
        with torch.no_grad():
            return f(*args, **kwargs)
    return run


def kernel_run(F, op, *args, dy=None, **kwargs):
    """A run() for backend F: ``F.<op>_forward(*args, **kwargs)``; with dy (the upstream
    gradient, 1.0 for a loss), also ``F.<op>_backward(dy, ctx)`` on that forward's ctx."""
    forward = getattr(F, f"{op}_forward")
    if dy is None:
        return lambda: forward(*args, **kwargs)
    backward = getattr(F, f"{op}_backward")
    def run():
        _, ctx = forward(*args, **kwargs)
        return backward(dy, ctx)
    return run
