"""Pure-numpy twins of every compiled kernel in :mod:`fastnn.functional`: same names, same
signatures, same return types. They are the ground truth in tests, the baseline in benchmarks,
and a backend of their own (``fastnn.use_backend("reference")``).
"""
import importlib as _importlib

_MODULES = ("linear", "activation", "softmax", "loss", "dropout", "optim",
            "conv", "pool", "norm", "rnn", "embedding")

__all__ = []
for _m in _MODULES:
    try:
        _mod = _importlib.import_module(f"fastnn.reference.{_m}")
    except ModuleNotFoundError as err:   # a family not written yet; a broken one still raises
        if err.name != f"fastnn.reference.{_m}":
            raise
        continue
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
del _m, _mod, _name, _importlib
