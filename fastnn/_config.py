"""Thread settings and build information shared by the whole package."""
import importlib
import os
import sys

import numpy as np

# Every compiled family; functional.py re-exports each one that is present.
FAMILIES = ("linear", "activation", "softmax", "loss", "dropout", "optim",
            "conv", "pool", "norm", "rnn", "embedding")


def compiled_modules():
    """The compiled extension modules fastnn._<family> that this build has."""
    mods = []
    for fam in FAMILIES:
        try:
            mods.append(importlib.import_module(f"fastnn._{fam}"))
        except ModuleNotFoundError as err:
            if err.name != f"fastnn._{fam}":
                raise
    return mods


def set_num_threads(n):
    """Set the threads fastnn's kernels use (OpenMP, which also drives GEMM).

    ``n`` a positive int. OpenBLAS is always kept single-threaded and called from fastnn's own
    OpenMP threads, so the two pools can never oversubscribe the cores. Without a call, fastnn
    follows OpenMP: OMP_NUM_THREADS, or the number of cores.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    for mod in compiled_modules():
        mod._set_num_threads(int(n))


def get_num_threads():
    """The number of threads fastnn's kernels use."""
    mods = compiled_modules()
    return mods[0]._get_num_threads() if mods else 1


def _openblas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return []
    return [i for i in threadpool_info() if "scipy_openblas" in os.path.basename(i.get("filepath", ""))
            and "numpy" not in i.get("filepath", "")]


def config():
    """A dict describing this build: version, BLAS, OpenMP, threads, compiler flags."""
    from . import __version__
    mods = compiled_modules()
    import scipy_openblas32
    info = {
        "fastnn": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "compiled_families": [m.__name__.split("._")[-1] for m in mods],
        "blas": f"OpenBLAS {scipy_openblas32.__version__} (scipy-openblas32 wheel, kept at 1 thread; "
                f"fastnn's OpenMP threads call it)",
        "blas_config": scipy_openblas32.get_openblas_config() if hasattr(scipy_openblas32, "get_openblas_config") else "",
        "openmp": bool(mods and mods[0]._openmp_enabled()),
        "num_threads": get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "compile_flags": mods[0]._COMPILE_FLAGS if mods else "",
    }
    return info


def show_config():
    """Print version, BLAS in use, OpenMP on/off, threads and compiler flags."""
    for key, value in config().items():
        print(f"{key:>18}: {value}")
