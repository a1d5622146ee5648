# _module.pxi: included at the top of every fastnn/_<family>.pyx. Initialises the numpy C API and
# the C runtime, and gives fastnn._threads the hooks to set this extension's thread count.

cimport numpy as cnp
from libc.stdint cimport int64_t
from fastnn._common cimport *

cnp.import_array()
fnn_runtime_init()


def _set_num_threads(int n):
    """Set the thread count of this extension's kernels (n <= 0: follow OpenMP)."""
    fnn_set_num_threads(n)


def _get_num_threads():
    """Threads this extension's kernels use."""
    return fnn_get_num_threads()


def _openmp_enabled():
    """True when this extension was compiled with OpenMP."""
    return bool(fnn_openmp_enabled())


cdef extern from *:
    """
    #ifndef FASTNN_COMPILE_FLAGS
    #define FASTNN_COMPILE_FLAGS "unknown"
    #endif
    """
    const char *FASTNN_COMPILE_FLAGS

_COMPILE_FLAGS = FASTNN_COMPILE_FLAGS.decode()


# FNN_BY_DTYPE(t, name, ...) calls name_f32(...) when the numpy type number t is NPY_FLOAT32 and
# name_f64(...) otherwise. A binding declares each kernel once, as a macro over it with void *
# array arguments (void * converts to float * and double * alike; the C compiler still checks
# the argument count and the scalar arguments against the prototypes in csrc/, but not which
# pointer goes where), and so calls each kernel once
# instead of writing the float32 and float64 calls side by side.
cdef extern from *:
    """
    #define FNN_BY_DTYPE(t, name, ...) \\
        ((t) == NPY_FLOAT32 ? name##_f32(__VA_ARGS__) : name##_f64(__VA_ARGS__))
    """
