# _norm.pyx: binding of csrc/norm.c (batch norm and layer norm, forward and backward).
include "_module.pxi"

import operator
from libc.math cimport isfinite

cdef extern from "norm.h":
    pass

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define batch_norm_fwd(t, ...) FNN_BY_DTYPE(t, fnn_batch_norm_fwd, __VA_ARGS__)
    #define batch_norm_bwd(t, ...) FNN_BY_DTYPE(t, fnn_batch_norm_bwd, __VA_ARGS__)
    #define layer_norm_fwd(t, ...) FNN_BY_DTYPE(t, fnn_layer_norm_fwd, __VA_ARGS__)
    #define layer_norm_bwd(t, ...) FNN_BY_DTYPE(t, fnn_layer_norm_bwd, __VA_ARGS__)
    """
    void batch_norm_fwd(int t, void *y, double *save_mean, double *save_invstd,
                        void *running_mean, void *running_var, const void *x, const void *gamma,
                        const void *beta, int64_t n, int64_t c, int64_t l, int batch_stats,
                        double momentum, double eps)
    void batch_norm_bwd(int t, void *dx, void *dgamma, void *dbeta, const void *dy, const void *x,
                        const void *gamma, const double *save_mean, const double *save_invstd,
                        int64_t n, int64_t c, int64_t l, int batch_stats)
    void layer_norm_fwd(int t, void *y, double *save_mean, double *save_rstd, const void *x,
                        const void *gamma, const void *beta, int64_t rows, int64_t d, double eps)
    void layer_norm_bwd(int t, void *dx, void *dgamma, void *dbeta, const void *dy, const void *x,
                        const void *gamma, const double *save_mean, const double *save_rstd,
                        int64_t rows, int64_t d)

__all__ = ["batch_norm_forward", "batch_norm_backward", "layer_norm_forward", "layer_norm_backward"]


cdef inline void *data_or_null(cnp.ndarray a):
    return NULL if a is None else cnp.PyArray_DATA(a)


cdef inline int64_t dims_product(cnp.ndarray a, int lo, int hi):
    """The product of a.shape[lo:hi] (1 when empty)."""
    cdef int64_t p = 1
    cdef int i
    for i in range(lo, hi):
        p *= a.shape[i]
    return p


cdef double check_eps(object eps) except -1.0:
    cdef double e
    try:
        e = eps
    except TypeError:
        raise TypeError(f"eps must be a float, got {type(eps).__name__}") from None
    if not (isfinite(e) and e >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return e


cdef cnp.ndarray channel_param(object a, int t, str name, int64_t c, object x):
    """gamma / beta: None, or an array (C,) of x's dtype (copied when not contiguous)."""
    if a is None:
        return None
    check_same_dtype(t, a, name, "x")
    cdef cnp.ndarray aa = c_array(a)
    if cnp.PyArray_NDIM(aa) != 1 or aa.shape[0] != c:
        raise ValueError(f"{name} must have shape ({c},) to match the channels of x {shape_str(x)}, "
                         f"got {shape_str(aa)}")
    return aa


cdef cnp.ndarray running_buffer(object a, int t, str name, int64_t c, object x):
    """running_mean / running_var: an array (C,) of x's dtype that can be updated in place."""
    check_same_dtype(t, a, name, "x")
    cdef cnp.ndarray aa = <cnp.ndarray>a
    if cnp.PyArray_NDIM(aa) != 1 or aa.shape[0] != c:
        raise ValueError(f"{name} must have shape ({c},) to match the channels of x {shape_str(x)}, "
                         f"got {shape_str(aa)}")
    if not (cnp.PyArray_CHKFLAGS(aa, cnp.NPY_ARRAY_CARRAY) and cnp.PyArray_ISNOTSWAPPED(aa)):
        raise ValueError(f"{name} must be a C-contiguous, writable, aligned, native-byte-order "
                         f"array: it is updated in place")
    return aa


cdef class _NormCtx:
    """What both norms' backward read: x contiguous, gamma or None, the float64 statistics (the
    mean and the inverse standard deviation, one pair per channel / row) and has_beta."""
    cdef readonly cnp.ndarray x, gamma
    cdef cnp.ndarray stats          # (2, C or rows) float64: mean, 1/std (one allocation per call)
    cdef readonly bint has_beta

    @property
    def mean(self):
        return self.stats[0]

    cdef keep(self, cnp.ndarray xa, cnp.ndarray ga, cnp.ndarray stats, bint has_beta):
        self.x = xa
        self.gamma = ga
        self.stats = stats
        self.has_beta = has_beta


cdef class BatchNormCtx(_NormCtx):
    """What batch_norm_backward needs: x (N, C, *) contiguous, gamma (C,) or None, mean and invstd
    (C,) float64 (the statistics the forward normalised with: batch statistics when batch_stats,
    else the running ones), has_beta, batch_stats."""
    cdef readonly bint batch_stats

    @property
    def invstd(self):
        return self.stats[1]

    def __repr__(self):
        return (f"BatchNormCtx(x={shape_str(self.x)}, affine=({self.gamma is not None}, "
                f"{self.has_beta}), batch_stats={self.batch_stats})")


cdef cnp.ndarray new_stats(int64_t m):
    """A new (2, m) float64 array for the mean and 1/std of m channels / rows."""
    cdef cnp.npy_intp sdim[2]
    sdim[0] = 2
    sdim[1] = m
    return new_array(2, sdim, cnp.NPY_FLOAT64)


cdef cnp.ndarray grad_output(object dy, cnp.ndarray xa):
    """A norm backward's dy: x's dtype and shape, as a C-contiguous array."""
    check_same_dtype(cnp.PyArray_TYPE(xa), dy, "dy", "x")
    cdef cnp.ndarray dya = c_array(dy)
    if not cnp.PyArray_SAMESHAPE(dya, xa):
        raise ValueError(f"dy must have the forward input's shape {shape_str(xa)}, got {shape_str(dya)}")
    return dya


def batch_norm_forward(x, gamma=None, beta=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5, num_batches_tracked=None, *, out=None):
    """Batch normalisation over the batch and spatial axes, per channel (PyTorch's batch_norm).

    x (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)); gamma, beta (C,) or None (no scale /
    no shift); running_mean, running_var (C,) or both None (statistics not tracked: the batch
    statistics are then used in eval too, like torch's track_running_stats=False). All float32 or
    float64, the same dtype; the running buffers must be C-contiguous and writable.

    training=True normalises with the batch mean and biased variance and, when running buffers
    are given, updates them IN PLACE: ``r = (1 - momentum) * r + momentum * batch_stat`` (the
    variance with the unbiased batch variance). momentum=None is PyTorch's cumulative average:
    pass ``num_batches_tracked``, the number of batches seen INCLUDING this one (torch increments
    its counter before the update), and the factor is 1 / num_batches_tracked.
    training=False normalises with the running statistics. Statistics accumulate in double.

    Returns ``(y, ctx)``, y with x's shape and dtype. The running buffers are the only inputs
    written. ValueError when batch statistics are needed and a channel has a single value.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x, gamma, beta or the running buffers; y is written into it and
    ``y is out``. The backward does not read y.
    """
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = <cnp.ndarray>x
    cdef int nd = cnp.PyArray_NDIM(xa)
    if nd < 2:
        raise ValueError(f"x must be at least 2-D (N, C, *), got shape {shape_str(x)}")
    cdef int64_t n = xa.shape[0], c = xa.shape[1], l = dims_product(xa, 2, nd)
    cdef cnp.ndarray ga = channel_param(gamma, t, "gamma", c, x)
    cdef cnp.ndarray ba = channel_param(beta, t, "beta", c, x)
    cdef cnp.ndarray rm = None, rv = None
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be arrays or both be None")
    if running_mean is not None:
        rm = running_buffer(running_mean, t, "running_mean", c, x)
        rv = running_buffer(running_var, t, "running_var", c, x)
        if cnp.PyArray_DATA(rm) == cnp.PyArray_DATA(rv):
            raise ValueError("running_mean and running_var must be different arrays")
    cdef double e = check_eps(eps)
    cdef bint train = flag_arg(training, "training")
    cdef double mom = 0
    if momentum is None:
        if train and rm is not None:
            if num_batches_tracked is None:
                raise ValueError("momentum=None (cumulative moving average) needs "
                                 "num_batches_tracked, the number of batches including this one")
            if isinstance(num_batches_tracked, bool):
                raise TypeError("num_batches_tracked must be an int, got bool")
            try:
                nbt = operator.index(num_batches_tracked)
            except TypeError:
                raise TypeError(f"num_batches_tracked must be an int, got "
                                f"{type(num_batches_tracked).__name__}") from None
            if nbt < 1:
                raise ValueError(f"num_batches_tracked must be >= 1 (it counts this batch), "
                                 f"got {nbt}")
            mom = 1.0 / nbt
    else:
        try:
            mom = momentum
        except TypeError:
            raise TypeError(f"momentum must be a float or None, got {type(momentum).__name__}") from None
        if not (mom >= 0 and mom <= 1):
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
    cdef int batch_stats = train or rm is None
    if batch_stats and n * l == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input of "
                         f"shape {shape_str(x)}")
    xa = c_array(x)
    cdef cnp.ndarray y
    y = result_array(out, nd, xa.shape, t, (x, gamma, beta, running_mean, running_var),
                     ("x", "gamma", "beta", "running_mean", "running_var"))
    cdef cnp.ndarray stats = new_stats(c)
    cdef double *meanp = <double *>cnp.PyArray_DATA(stats)
    cdef void *gp = data_or_null(ga)
    cdef void *bp = data_or_null(ba)
    cdef void *rmp = data_or_null(rm)
    cdef void *rvp = data_or_null(rv)
    with nogil:
        batch_norm_fwd(t, cnp.PyArray_DATA(y), meanp, meanp + c, rmp, rvp, cnp.PyArray_DATA(xa),
                       gp, bp, n, c, l, batch_stats, mom, e)
    cdef BatchNormCtx ctx = BatchNormCtx.__new__(BatchNormCtx)
    ctx.keep(xa, ga, stats, ba is not None)
    ctx.batch_stats = batch_stats
    return y, ctx


def batch_norm_backward(dy, BatchNormCtx ctx not None):
    """Gradients of batch_norm_forward: dy (x's shape) -> ``(dx, dgamma (C,), dbeta (C,))``,
    dgamma / dbeta None when the forward had no gamma / beta. With batch statistics (training,
    or no running buffers) this is the full gradient through the batch mean and variance; with
    running statistics (eval) it is the per-channel affine map dx = dy * gamma * invstd.
    Channel sums accumulate in double."""
    cdef cnp.ndarray xa = ctx.x
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef cnp.ndarray dya = grad_output(dy, xa)
    cdef int nd = cnp.PyArray_NDIM(xa)
    cdef int64_t n = xa.shape[0], c = xa.shape[1], l = dims_product(xa, 2, nd)
    cdef cnp.ndarray dx = new_array(nd, xa.shape, t)
    cdef cnp.npy_intp cdim = c
    cdef cnp.ndarray dg = new_array(1, &cdim, t) if ctx.gamma is not None else None
    cdef cnp.ndarray db = new_array(1, &cdim, t) if ctx.has_beta else None
    cdef void *gp = data_or_null(ctx.gamma)
    cdef void *dgp = data_or_null(dg)
    cdef void *dbp = data_or_null(db)
    cdef int batch_stats = ctx.batch_stats
    cdef double *meanp = <double *>cnp.PyArray_DATA(ctx.stats)
    with nogil:
        batch_norm_bwd(t, cnp.PyArray_DATA(dx), dgp, dbp, cnp.PyArray_DATA(dya),
                       cnp.PyArray_DATA(xa), gp, meanp, meanp + c, n, c, l, batch_stats)
    return dx, dg, db


cdef class LayerNormCtx(_NormCtx):
    """What layer_norm_backward needs: x contiguous, gamma (normalized_shape) or None, mean and
    rstd float64, one per normalised row (the leading dims of x, flattened), has_beta and
    normalized_shape."""
    cdef readonly tuple normalized_shape

    @property
    def rstd(self):
        return self.stats[1]

    def __repr__(self):
        return (f"LayerNormCtx(x={shape_str(self.x)}, normalized_shape={self.normalized_shape}, "
                f"affine=({self.gamma is not None}, {self.has_beta}))")


cdef tuple trailing_shape(cnp.ndarray xa, object normalized_shape):
    """normalized_shape as a tuple that equals the trailing dims of x (ValueError otherwise)."""
    # The same checks and words as _trailing_shape in fastnn/reference/norm.py, kept compiled:
    # they run on every nn.LayerNorm forward, where calling the twin's would cost ~1 us.
    cdef int nd = cnp.PyArray_NDIM(xa)
    if normalized_shape is None:
        if nd < 1:
            raise ValueError(f"x must be at least 1-D (*, D), got shape {shape_str(xa)}")
        return (xa.shape[nd - 1],)
    if isinstance(normalized_shape, bool):
        raise TypeError("normalized_shape must be an int or a tuple of ints, got bool")
    if isinstance(normalized_shape, int):
        shp = (normalized_shape,)
    else:
        try:
            shp = tuple(normalized_shape)
        except TypeError:
            raise TypeError(f"normalized_shape must be an int or a tuple of ints, got "
                            f"{type(normalized_shape).__name__}") from None
        for s in shp:
            if isinstance(s, bool) or not isinstance(s, int):
                raise TypeError(f"normalized_shape must be an int or a tuple of ints, got "
                                f"{normalized_shape!r}")
    cdef int k = len(shp)
    if k < 1 or k > nd or (<object>xa).shape[nd - k:] != shp:
        raise ValueError(f"normalized_shape {shp} must be non-empty and equal the trailing "
                         f"dimensions of x {shape_str(xa)}")
    return shp


cdef cnp.ndarray norm_param(object a, int t, str name, tuple shp, object x):
    if a is None:
        return None
    check_same_dtype(t, a, name, "x")
    cdef cnp.ndarray aa = c_array(a)
    if (<object>aa).shape != shp:
        raise ValueError(f"{name} must have shape normalized_shape = {shp} (x {shape_str(x)}), "
                         f"got {shape_str(aa)}")
    return aa


def layer_norm_forward(x, gamma=None, beta=None, eps=1e-5, normalized_shape=None, *, out=None):
    """Layer normalisation (PyTorch's layer_norm): every row of x is normalised with its own mean
    and biased variance over the trailing dims, then scaled by gamma and shifted by beta.

    x (*, D), gamma, beta (D,) or None; with normalized_shape (an int or a tuple equal to the
    trailing dims of x, default (x.shape[-1],)) the statistics cover all those dims and
    gamma / beta have that shape. float32 or float64, all the same dtype. Per-row statistics
    accumulate in double. Returns ``(y, ctx)``, y with x's shape.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x, gamma or beta; y is written into it and ``y is out``. The backward
    does not read y.
    """
    cdef int t = float_typenum(x, "x")
    cdef tuple shp = trailing_shape(<cnp.ndarray>x, normalized_shape)
    cdef cnp.ndarray ga = norm_param(gamma, t, "gamma", shp, x)
    cdef cnp.ndarray ba = norm_param(beta, t, "beta", shp, x)
    cdef double e = check_eps(eps)
    cdef cnp.ndarray xa = c_array(x)
    cdef int nd = cnp.PyArray_NDIM(xa), k = len(shp)
    cdef int64_t rows = dims_product(xa, 0, nd - k), d = dims_product(xa, nd - k, nd)
    cdef cnp.ndarray y
    y = result_array(out, nd, xa.shape, t, (x, gamma, beta), ("x", "gamma", "beta"))
    cdef cnp.ndarray stats = new_stats(rows)
    cdef double *meanp = <double *>cnp.PyArray_DATA(stats)
    cdef void *gp = data_or_null(ga)
    cdef void *bp = data_or_null(ba)
    with nogil:
        layer_norm_fwd(t, cnp.PyArray_DATA(y), meanp, meanp + rows, cnp.PyArray_DATA(xa), gp, bp,
                       rows, d, e)
    cdef LayerNormCtx ctx = LayerNormCtx.__new__(LayerNormCtx)
    ctx.keep(xa, ga, stats, ba is not None)
    ctx.normalized_shape = shp
    return y, ctx


def layer_norm_backward(dy, LayerNormCtx ctx not None):
    """Gradients of layer_norm_forward: dy (x's shape) -> ``(dx, dgamma, dbeta)`` (dgamma / dbeta
    with normalized_shape, None when the forward had no gamma / beta; summed over rows in
    double)."""
    cdef cnp.ndarray xa = ctx.x
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef cnp.ndarray dya = grad_output(dy, xa)
    cdef int nd = cnp.PyArray_NDIM(xa), k = len(ctx.normalized_shape)
    cdef int64_t rows = dims_product(xa, 0, nd - k), d = dims_product(xa, nd - k, nd)
    cdef cnp.ndarray dx = new_array(nd, xa.shape, t)
    cdef cnp.ndarray dg = new_array(k, xa.shape + (nd - k), t) if ctx.gamma is not None else None
    cdef cnp.ndarray db = new_array(k, xa.shape + (nd - k), t) if ctx.has_beta else None
    cdef void *gp = data_or_null(ctx.gamma)
    cdef void *dgp = data_or_null(dg)
    cdef void *dbp = data_or_null(db)
    cdef double *meanp = <double *>cnp.PyArray_DATA(ctx.stats)
    with nogil:
        layer_norm_bwd(t, cnp.PyArray_DATA(dx), dgp, dbp, cnp.PyArray_DATA(dya),
                       cnp.PyArray_DATA(xa), gp, meanp, meanp + rows, rows, d)
    return dx, dg, db
