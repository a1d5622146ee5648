"""fastnn: compiled neural-network kernels for numpy training loops.

    fastnn.functional   compiled kernels (C + Cython + OpenBLAS), ``<op>_forward`` / ``<op>_backward``
    fastnn.reference    their pure-numpy twins, same names and signatures
    fastnn.nn           layers with PyTorch's names and weight layouts
    fastnn.optim        optimizers with fused in-place updates
"""
__version__ = "0.1.0"

# Load the OpenBLAS shared library that the extensions link against (scipy-openblas32 wheel)
# before any extension is imported. fastnn only ever calls it single-threaded (its own OpenMP
# threads split the GEMMs, see csrc/blas.c), so it is loaded with OPENBLAS_NUM_THREADS=1: then
# OpenBLAS starts no idle worker threads of its own (they would spin on the cores we use). The
# variable is restored at once, so an OpenBLAS loaded later (numpy's) is not affected.
import os as _os

_saved = _os.environ.get("OPENBLAS_NUM_THREADS")
_os.environ["OPENBLAS_NUM_THREADS"] = "1"
try:
    import scipy_openblas32 as _scipy_openblas32  # noqa: F401
finally:
    if _saved is None:
        del _os.environ["OPENBLAS_NUM_THREADS"]
    else:
        _os.environ["OPENBLAS_NUM_THREADS"] = _saved
del _saved

from ._config import set_num_threads, get_num_threads, show_config, config  # noqa: E402
from . import functional, reference  # noqa: E402
from .backend import use_backend, get_backend, backend_name  # noqa: E402
from .gradcheck import gradcheck  # noqa: E402

__all__ = ["functional", "reference", "set_num_threads", "get_num_threads", "show_config",
           "config", "use_backend", "get_backend", "backend_name", "gradcheck", "__version__"]

from . import nn, data, optim  # noqa: E402
from .nn.init import manual_seed  # noqa: E402
from .training import fit, evaluate, History  # noqa: E402

__all__ += ["nn", "data", "optim", "manual_seed", "fit", "evaluate", "History"]

try:   # let threadpoolctl list and limit fastnn's thread pool (fastnn/_threadpool.py)
    from . import _threadpool  # noqa: E402,F401
except ImportError:  # pragma: no cover - threadpoolctl is a dependency, but not a vital one
    pass
