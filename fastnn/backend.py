"""Which implementation the layer API (fastnn.nn, fastnn.optim) runs on.

    fastnn.use_backend("reference")        # from now on: the numpy twins
    with fastnn.use_backend("compiled"):   # only inside the block
        ...

Layers and optimizers look the backend up on every call with ``get_backend()``, which returns
the module fastnn.functional or fastnn.reference (same names, same signatures). A layer keeps
the backend its forward ran on, so its backward always pairs with it.
"""
import threading

from . import functional, reference

__all__ = ["use_backend", "get_backend", "backend_name", "BACKENDS"]

BACKENDS = {"compiled": functional, "reference": reference}


class _State(threading.local):
    # a class-level default: a thread that never called use_backend reads it without the
    # AttributeError that getattr(..., default) raises and catches inside (~2 us per call)
    name = "compiled"


_state = _State()


def _current():
    return getattr(_state, "name", "compiled")


class use_backend:
    """Switch the layer API to "compiled" (default) or "reference"; also a context manager that
    restores the previous backend on exit. The setting is per thread."""

    def __init__(self, name):
        if name not in BACKENDS:
            raise ValueError(f"backend must be one of {sorted(BACKENDS)}, got {name!r}")
        self.previous = _current()
        self.name = name
        _state.name = name

    def __enter__(self):
        return BACKENDS[self.name]

    def __exit__(self, *exc):
        _state.name = self.previous
        return False


def get_backend():
    """The kernel module the layer API uses now: fastnn.functional or fastnn.reference."""
    return BACKENDS[_current()]


def backend_name():
    """"compiled" or "reference"."""
    return _current()
