# _softmax.pyx: binding of csrc/softmax.c (softmax / log-softmax over any axis of any shape).
include "_module.pxi"

cdef extern from "softmax.h":
    pass

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define softmax_fwd(t, ...) FNN_BY_DTYPE(t, fnn_softmax_fwd, __VA_ARGS__)
    #define log_softmax_fwd(t, ...) FNN_BY_DTYPE(t, fnn_log_softmax_fwd, __VA_ARGS__)
    #define softmax_bwd(t, ...) FNN_BY_DTYPE(t, fnn_softmax_bwd, __VA_ARGS__)
    #define log_softmax_bwd(t, ...) FNN_BY_DTYPE(t, fnn_log_softmax_bwd, __VA_ARGS__)
    """
    void softmax_fwd(int t, void *y, const void *x, int64_t outer, int64_t n, int64_t inner)
    void log_softmax_fwd(int t, void *y, const void *x, int64_t outer, int64_t n, int64_t inner)
    void softmax_bwd(int t, void *dx, const void *dy, const void *y,
                     int64_t outer, int64_t n, int64_t inner)
    void log_softmax_bwd(int t, void *dx, const void *dy, const void *y,
                         int64_t outer, int64_t n, int64_t inner)


__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


cdef class _RowsCtx:
    """y, the forward's output, and axis (normalised, >= 0): what both backwards read."""
    cdef readonly cnp.ndarray y
    cdef readonly int axis

    def __repr__(self):
        return f"{type(self).__name__}(y={shape_str(self.y)}, axis={self.axis})"


cdef class SoftmaxCtx(_RowsCtx):
    """What softmax_backward needs: y, the forward's output, and axis (normalised, >= 0)."""


cdef class LogSoftmaxCtx(_RowsCtx):
    """What log_softmax_backward needs: y, the forward's output (log-probabilities), and axis
    (normalised, >= 0)."""


cdef int normalise_axis(cnp.ndarray x, object axis_obj) except -1:
    """axis in [0, ndim); a 0-d array has the one axis -1 / 0 (as torch). TypeError for a
    non-integer, ValueError when out of range."""
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef Py_ssize_t lim = nd if nd > 0 else 1
    cdef Py_ssize_t axis
    try:
        axis = axis_obj                 # exact ints convert directly; others via __index__
    except OverflowError:
        raise ValueError(f"axis {axis_obj} is out of range for x of shape {shape_str(x)}") from None
    except TypeError:
        raise TypeError(f"axis must be an int, got {type(axis_obj).__name__}") from None
    if axis < -lim or axis >= lim:
        raise ValueError(f"axis {axis} is out of range for x of shape {shape_str(x)}")
    return axis + lim if axis < 0 else axis


cdef void split_dims(cnp.ndarray x, int axis, int64_t *outer, int64_t *n, int64_t *inner):
    """(outer, n, inner) of x seen as reduced over axis."""
    cdef int nd = cnp.PyArray_NDIM(x), d
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(x)
    outer[0] = 1
    n[0] = dims[axis] if nd > 0 else 1
    inner[0] = 1
    for d in range(axis):
        outer[0] *= dims[d]
    for d in range(axis + 1, nd):
        inner[0] *= dims[d]




# empty_like(), grad_like(): fastnn/_common.pxd


# softmax and log_softmax share their kernel shapes: y = f(x) and dx = g(dy, y) over
# (outer, n, inner) with the reduced axis in the middle; log picks log_softmax's kernels.
cdef cnp.ndarray apply_rows(cnp.ndarray xa, int axis, object out, object x, bint log):
    """y = f(xa) along ``axis`` (already normalised), GIL released, into a new array or into out
    (checked against x, the caller's argument; out_like() in _common.pxd)."""
    cdef cnp.ndarray y = out_like(xa, out, x)
    cdef int64_t outer, n, inner
    split_dims(xa, axis, &outer, &n, &inner)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef int t = cnp.PyArray_TYPE(xa)
    with nogil:
        if log:
            log_softmax_fwd(t, yp, xp, outer, n, inner)
        else:
            softmax_fwd(t, yp, xp, outer, n, inner)
    return y


cdef tuple rows_forward(_RowsCtx ctx, object x, object axis, object out, bint log):
    """A forward's checks, y = f(x) along axis and ``(y, ctx)`` with ctx holding y and axis."""
    float_typenum(x, "x")
    cdef int a = normalise_axis(<cnp.ndarray>x, axis)
    ctx.y = apply_rows(c_array(x), a, out, x, log)
    ctx.axis = a
    return ctx.y, ctx


cdef cnp.ndarray apply_rows_grad(object dy, cnp.ndarray y, int axis, bint log):
    """dy checked against the forward's y, then a new array dx = g(dy, y) along ``axis``."""
    cdef cnp.ndarray dya = grad_like(dy, y)
    cdef cnp.ndarray dx = empty_like(y)
    cdef int64_t outer, n, inner
    split_dims(y, axis, &outer, &n, &inner)
    cdef void *dxp = cnp.PyArray_DATA(dx)
    cdef void *dyp = cnp.PyArray_DATA(dya)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef int t = cnp.PyArray_TYPE(y)
    with nogil:
        if log:
            log_softmax_bwd(t, dxp, dyp, yp, outer, n, inner)
        else:
            softmax_bwd(t, dxp, dyp, yp, outer, n, inner)
    return dx


def softmax_forward(x, axis=-1, *, out=None):
    """Softmax over one axis: ``y = exp(x - max) / sum(exp(x - max))`` along ``axis``.

    x: any shape (a 0-d array counts as one element), float32 or float64; axis: an int, negative
    counts from the end (ValueError when out of range). The max is subtracted first, so finite
    logits never overflow; a slice with +inf, NaN, or only -inf gives NaN (as torch). Returns
    ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before softmax_backward gives wrong gradients.
    """
    return rows_forward(SoftmaxCtx.__new__(SoftmaxCtx), x, axis, out, log=False)


def softmax_backward(dy, SoftmaxCtx ctx not None):
    """Gradient of softmax_forward: ``dx = y * (dy - sum(dy * y, axis))`` (the sum in double).
    dy: y's shape and dtype. Returns dx (same)."""
    return apply_rows_grad(dy, ctx.y, ctx.axis, log=False)


def log_softmax_forward(x, axis=-1, *, out=None):
    """Log-softmax over one axis: ``y = x - max - log(sum(exp(x - max)))`` along ``axis``.

    Same shapes, dtypes, axis rules and special values as softmax_forward; -inf logits give
    -inf. Returns ``(y, ctx)``.

    out: as in softmax_forward (x's shape and dtype; ``y is out``). ctx.y is out: the backward
    reads it, so overwriting out before log_softmax_backward gives wrong gradients.
    """
    return rows_forward(LogSoftmaxCtx.__new__(LogSoftmaxCtx), x, axis, out, log=True)


def log_softmax_backward(dy, LogSoftmaxCtx ctx not None):
    """Gradient of log_softmax_forward: ``dx = dy - exp(y) * sum(dy, axis)`` (the sum in double).
    dy: y's shape and dtype. Returns dx (same)."""
    return apply_rows_grad(dy, ctx.y, ctx.axis, log=True)
