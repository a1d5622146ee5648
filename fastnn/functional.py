"""The compiled kernels: forward/backward pairs over float32/float64 numpy arrays.

Every name here has a pure-numpy twin with the same signature in :mod:`fastnn.reference`.
Forward functions return ``(out, ctx)``; backward functions take ``(dout, ctx)`` and return the
gradients of the forward's array inputs in order (None for an absent bias). A family whose
extension is not built is simply absent from this module.
"""
from ._config import FAMILIES as _FAMILIES
import importlib as _importlib

__all__ = []
for _fam in _FAMILIES:
    try:
        _mod = _importlib.import_module(f"fastnn._{_fam}")
    except ModuleNotFoundError as err:   # a family not built; a broken build still raises
        if err.name != f"fastnn._{_fam}":
            raise
        continue
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
if not __all__:
    raise ImportError(
        f"fastnn's compiled extensions are not built in {__file__.rsplit('/', 1)[0]}: install with "
        f"`pip install -e .` (or build in place: `python setup.py build_ext --inplace`), or run from "
        f"outside the source tree so that the installed package is imported")
del _fam, _mod, _name, _importlib, _FAMILIES
