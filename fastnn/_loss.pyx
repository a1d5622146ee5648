# _loss.pyx: binding of csrc/loss.c: cross-entropy (fused log-softmax + NLL, class indices or
# probabilities), NLL, MSE and L1 losses with PyTorch's reductions.
#
# Shapes of the result: reduction "mean"/"sum" -> a 0-d array of the input's dtype; "none" -> one
# loss per row (N,) for cross-entropy/NLL, one per element (the input's shape) for MSE/L1.
# Backward: `<loss>_backward(dloss, ctx)` returns the gradient of the forward's first argument.
# dloss has the loss's shape: for "mean"/"sum" a 0-d array of the loss's dtype OR a plain number
# (Python int/float or a numpy real scalar, e.g. the usual 1.0); for "none" an array of the loss's
# shape and dtype (a plain number too when that shape is (), i.e. MSE/L1 of 0-d inputs).
include "_module.pxi"

import numpy as np
from cpython.float cimport PyFloat_Check
from cpython.long cimport PyLong_Check
from cpython.bool cimport PyBool_Check

cdef extern from "loss.h" nogil:
    enum:
        FNN_REDUCE_NONE
        FNN_REDUCE_MEAN
        FNN_REDUCE_SUM
    void fnn_loss_expf_array(float *y, const float *x, int64_t n, int neg)

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define cross_entropy_fwd(t, ...) FNN_BY_DTYPE(t, fnn_cross_entropy_fwd, __VA_ARGS__)
    #define cross_entropy_bwd(t, ...) FNN_BY_DTYPE(t, fnn_cross_entropy_bwd, __VA_ARGS__)
    #define cross_entropy_soft_fwd(t, ...) FNN_BY_DTYPE(t, fnn_cross_entropy_soft_fwd, __VA_ARGS__)
    #define cross_entropy_soft_bwd(t, ...) FNN_BY_DTYPE(t, fnn_cross_entropy_soft_bwd, __VA_ARGS__)
    #define nll_loss_fwd(t, ...) FNN_BY_DTYPE(t, fnn_nll_loss_fwd, __VA_ARGS__)
    #define nll_loss_bwd(t, ...) FNN_BY_DTYPE(t, fnn_nll_loss_bwd, __VA_ARGS__)
    #define mse_loss_fwd(t, ...) FNN_BY_DTYPE(t, fnn_mse_loss_fwd, __VA_ARGS__)
    #define mse_loss_bwd(t, ...) FNN_BY_DTYPE(t, fnn_mse_loss_bwd, __VA_ARGS__)
    #define l1_loss_fwd(t, ...) FNN_BY_DTYPE(t, fnn_l1_loss_fwd, __VA_ARGS__)
    #define l1_loss_bwd(t, ...) FNN_BY_DTYPE(t, fnn_l1_loss_bwd, __VA_ARGS__)
    """
    int64_t cross_entropy_fwd(int t, void *loss, void *rowmax, void *sumexp, int64_t *count,
                              const void *logits, const int64_t *target, int64_t n, int64_t c,
                              int64_t ignore_index, int reduction)
    void cross_entropy_bwd(int t, void *dlogits, const void *dloss, double g, const void *logits,
                           const int64_t *target, const void *rowmax, const void *sumexp,
                           int64_t n, int64_t c, int64_t ignore_index)
    void cross_entropy_soft_fwd(int t, void *loss, void *rowmax, void *sumexp, void *tsum,
                                const void *logits, const void *target, int64_t n, int64_t c,
                                int reduction)
    void cross_entropy_soft_bwd(int t, void *dlogits, const void *dloss, double g,
                                const void *logits, const void *target, const void *rowmax,
                                const void *sumexp, const void *tsum, int64_t n, int64_t c)
    int64_t nll_loss_fwd(int t, void *loss, int64_t *count, const void *logp,
                         const int64_t *target, int64_t n, int64_t c, int64_t ignore_index,
                         int reduction)
    void nll_loss_bwd(int t, void *dlogp, const void *dloss, double g, const int64_t *target,
                      int64_t n, int64_t c, int64_t ignore_index)
    void mse_loss_fwd(int t, void *loss, const void *pred, const void *target, int64_t n,
                      int reduction)
    void mse_loss_bwd(int t, void *dpred, const void *dloss, double g, const void *pred,
                      const void *target, int64_t n)
    void l1_loss_fwd(int t, void *loss, const void *pred, const void *target, int64_t n,
                     int reduction)
    void l1_loss_bwd(int t, void *dpred, const void *dloss, double g, const void *pred,
                     const void *target, int64_t n)

cdef object _NP_REAL = (np.floating, np.integer)
cdef object _NP_INT = np.integer

__all__ = ["cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward",
           "nll_loss_backward", "mse_loss_forward", "mse_loss_backward", "l1_loss_forward",
           "l1_loss_backward"]

REDUCTIONS = ("mean", "sum", "none")
cdef tuple REDUCTION_NAMES = ("none", "mean", "sum")    # indexed by FNN_REDUCE_*


# ------------------------------------------------------------------------------------------------
# border checks shared by the losses (same wording as fastnn/reference/loss.py)
# ------------------------------------------------------------------------------------------------

cdef int reduction_code(object reduction) except -1:
    if type(reduction) is str:
        if reduction == "mean":
            return FNN_REDUCE_MEAN
        if reduction == "sum":
            return FNN_REDUCE_SUM
        if reduction == "none":
            return FNN_REDUCE_NONE
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


cdef int64_t index_arg(object value, str name) except? -1:
    if PyBool_Check(value) or not (PyLong_Check(value) or isinstance(value, _NP_INT)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    try:
        return value
    except OverflowError:
        raise ValueError(f"{name} = {value} does not fit in a 64-bit integer") from None


cdef cnp.ndarray class_indices(object target, int64_t n, cnp.ndarray logits):
    """target as a native C-contiguous int64 (N,) array; TypeError / ValueError otherwise."""
    if not cnp.PyArray_Check(target):
        raise TypeError(f"target must be a numpy.ndarray of int64 class indices, got {type(target).__name__}")
    cdef cnp.ndarray ta = <cnp.ndarray>target
    if not (cnp.PyArray_ISSIGNED(ta) and cnp.PyArray_ITEMSIZE(ta) == 8):
        raise TypeError(f"target class indices must have dtype int64, got {ta.dtype}")
    if cnp.PyArray_NDIM(ta) != 1 or ta.shape[0] != n:
        raise ValueError(f"target must have shape ({n},) to match logits {shape_str(logits)}, got {shape_str(ta)}")
    return c_array(ta)


cdef cnp.ndarray logits_2d(object x, str name):
    """x (a float ndarray) as a C-contiguous (N, C) array with C >= 1 (ValueError otherwise)."""
    cdef cnp.ndarray xa = c_array(x)
    check_ndim(xa, 2, name, "(N, C)")
    if xa.shape[1] < 1:
        raise ValueError(f"{name} must have at least one class, got shape {shape_str(xa)}")
    return xa


cdef raise_bad_target(cnp.ndarray ta, int64_t row, int64_t c, int64_t ignore_index):
    raise ValueError(f"target[{row}] = {(<int64_t *>cnp.PyArray_DATA(ta))[row]} is out of range for "
                     f"{c} classes (valid: 0 <= target < {c}, or ignore_index={ignore_index})")


cdef bint number_value(object d, double *v) except -1:
    """True (value in *v) when d is a plain number: a Python int/float or a numpy real scalar;
    bools are refused (a bool gradient is surely a mistake)."""
    if PyFloat_Check(d) or (PyLong_Check(d) and not PyBool_Check(d)) or isinstance(d, _NP_REAL):
        v[0] = d
        return True
    return False


cdef object upstream(object dloss, int t, int red, cnp.ndarray loss_like, double *g):
    """The upstream gradient, of the loss's shape. Reduction none: returned as a C-contiguous
    array of the loss's dtype (a 0-d loss also takes a number). Mean/sum: a number or a 0-d array
    of the loss's dtype; its value goes to *g and None is returned."""
    cdef cnp.ndarray da
    cdef double v
    if red == FNN_REDUCE_NONE:
        if cnp.PyArray_NDIM(loss_like) == 0 and number_value(dloss, &v):
            da = new_array(0, NULL, t)
            if t == cnp.NPY_FLOAT32:
                (<float *>cnp.PyArray_DATA(da))[0] = <float>v
            else:
                (<double *>cnp.PyArray_DATA(da))[0] = v
            return da
        check_same_dtype(t, dloss, "dloss", "the loss")
        da = c_array(dloss)
        if not cnp.PyArray_SAMESHAPE(da, loss_like):
            raise ValueError(f"dloss must have the loss's shape {shape_str(loss_like)} "
                             f"(reduction 'none'), got {shape_str(da)}")
        return da
    if number_value(dloss, g):
        return None
    if not cnp.PyArray_Check(dloss):
        raise TypeError(f"dloss must be a number or a 0-d numpy.ndarray (reduction "
                        f"{REDUCTION_NAMES[red]!r}), got {type(dloss).__name__}")
    check_same_dtype(t, dloss, "dloss", "the loss")
    if cnp.PyArray_NDIM(<cnp.ndarray>dloss) != 0:
        raise ValueError(f"dloss must be a number or a 0-d array (reduction {REDUCTION_NAMES[red]!r}), "
                         f"got shape {shape_str(dloss)}")
    da = c_array(dloss)                # native and aligned: a byte-swapped 0-d array is read right
    if t == cnp.NPY_FLOAT32:
        g[0] = (<float *>cnp.PyArray_DATA(da))[0]
    else:
        g[0] = (<double *>cnp.PyArray_DATA(da))[0]
    return None


cdef inline void *data_or_null(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline cnp.ndarray loss_array(int red, int ndim, cnp.npy_intp *dims, int t):
    """The forward's output: the per-row / per-element losses, or a 0-d array."""
    return new_array(ndim if red == FNN_REDUCE_NONE else 0, dims, t)


cdef class _ClassLossCtx:
    """What cross-entropy's and NLL's backward share: target, reduction, ignore_index and count
    (rows that count in the mean)."""
    cdef readonly cnp.ndarray target
    cdef readonly str reduction
    cdef readonly int64_t ignore_index, count
    cdef int red

    cdef keep(self, cnp.ndarray ta, int red, int64_t ignore_index, int64_t count):
        self.target = ta
        self.reduction = REDUCTION_NAMES[red]
        self.red = red
        self.ignore_index = ignore_index
        self.count = count

    cdef object upstream_grad(self, object dloss, int t, cnp.ndarray loss_like, double *g):
        """upstream() for this loss, with *g divided by count for the mean (0 when no row
        counts)."""
        da = upstream(dloss, t, self.red, loss_like, g)
        if self.red == FNN_REDUCE_MEAN:
            g[0] = g[0] / self.count if self.count > 0 else 0.0
        return da


# ------------------------------------------------------------------------------------------------
# cross-entropy
# ------------------------------------------------------------------------------------------------

cdef class CrossEntropyCtx(_ClassLossCtx):
    """What cross_entropy_backward needs: logits (N, C); target (N,) int64 class indices or
    (N, C) probabilities; rowmax, sumexp (N,): per row the max logit and sum_j exp(logit - max)
    (softmax is recomputed from them, so no (N, C) matrix is kept); tsum (N,) the row sums of
    probability targets (None for class indices); soft; reduction; ignore_index; count (rows
    that count in the mean)."""
    cdef readonly cnp.ndarray logits, rowmax, sumexp, tsum
    cdef readonly bint soft

    def __repr__(self):
        return (f"CrossEntropyCtx(logits={shape_str(self.logits)}, target={shape_str(self.target)}, "
                f"soft={self.soft}, reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
                f"count={self.count})")


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100):
    """Cross-entropy of softmax(logits) against target, fused (log-softmax + NLL in one pass).

    logits (N, C) float32/float64. target either int64 class indices (N,) (rows equal to
    ignore_index contribute 0 and are left out of the mean's denominator; any other index outside
    [0, C) raises ValueError) or probabilities (N, C) of the logits' dtype ("soft" targets:
    loss_i = -sum_j target[i, j] * log_softmax(logits)[i, j]; ignore_index does not apply; the
    mean divides by N). reduction "mean", "sum" or "none". Returns ``(loss, ctx)``: loss a 0-d
    array, or (N,) for "none", of the logits' dtype. The mean over zero rows is NaN, like torch.
    """
    cdef int t = float_typenum(logits, "logits")
    cdef int red = reduction_code(reduction)
    cdef int64_t ii = index_arg(ignore_index, "ignore_index")
    cdef cnp.ndarray xa = logits_2d(logits, "logits")
    cdef int64_t n = xa.shape[0], c = xa.shape[1], count = n, bad = -1
    cdef cnp.ndarray ta, tsum = None
    cdef bint soft = (cnp.PyArray_Check(target) and
                      cnp.PyArray_ISFLOAT(<cnp.ndarray>target) and cnp.PyArray_NDIM(<cnp.ndarray>target) == 2)
    if soft:
        check_same_dtype(t, target, "target", "logits")
        ta = c_array(target)
        if not cnp.PyArray_SAMESHAPE(ta, xa):
            raise ValueError(f"target probabilities must have the logits' shape {shape_str(xa)}, "
                             f"got {shape_str(ta)}")
    else:
        ta = class_indices(target, n, xa)
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray loss = loss_array(red, 1, dims, t)
    cdef cnp.ndarray rowmax = new_array(1, dims, t), sumexp = new_array(1, dims, t)
    if soft:
        tsum = new_array(1, dims, t)
    cdef void *lp = cnp.PyArray_DATA(loss)
    cdef void *mp = cnp.PyArray_DATA(rowmax)
    cdef void *sp = cnp.PyArray_DATA(sumexp)
    cdef void *tsp = data_or_null(tsum)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef void *tp = cnp.PyArray_DATA(ta)
    with nogil:
        if soft:
            cross_entropy_soft_fwd(t, lp, mp, sp, tsp, xp, tp, n, c, red)
        else:
            bad = cross_entropy_fwd(t, lp, mp, sp, &count, xp, <int64_t *>tp, n, c, ii, red)
    if bad >= 0:
        raise_bad_target(ta, bad, c, ii)
    cdef CrossEntropyCtx ctx = CrossEntropyCtx.__new__(CrossEntropyCtx)
    ctx.keep(ta, red, ii, count)
    ctx.logits = xa
    ctx.rowmax = rowmax
    ctx.sumexp = sumexp
    ctx.tsum = tsum
    ctx.soft = soft
    return loss, ctx


def cross_entropy_backward(dloss, CrossEntropyCtx ctx not None):
    """Gradient of cross_entropy_forward with respect to logits: dloss (the loss's shape: a number
    or 0-d array for "mean"/"sum", (N,) for "none") -> dlogits (N, C),
    ``g_i * (softmax(logits)_i - onehot(target_i))`` (class indices; zero rows where ignored) or
    ``g_i * (softmax(logits)_i * sum(target_i) - target_i)`` (probabilities)."""
    cdef cnp.ndarray xa = ctx.logits
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef double g = 0
    da = ctx.upstream_grad(dloss, t, ctx.rowmax, &g)       # rowmax has the loss's shape (N,)
    cdef int64_t n = xa.shape[0], c = xa.shape[1], ii = ctx.ignore_index
    cdef cnp.ndarray dx = new_array(2, xa.shape, t)
    cdef void *dxp = cnp.PyArray_DATA(dx)
    cdef void *dp = data_or_null(da)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef void *tp = cnp.PyArray_DATA(ctx.target)
    cdef void *mp = cnp.PyArray_DATA(ctx.rowmax)
    cdef void *sp = cnp.PyArray_DATA(ctx.sumexp)
    cdef void *tsp = data_or_null(ctx.tsum)
    cdef bint soft = ctx.soft
    with nogil:
        if soft:
            cross_entropy_soft_bwd(t, dxp, dp, g, xp, tp, mp, sp, tsp, n, c)
        else:
            cross_entropy_bwd(t, dxp, dp, g, xp, <int64_t *>tp, mp, sp, n, c, ii)
    return dx


# ------------------------------------------------------------------------------------------------
# NLL
# ------------------------------------------------------------------------------------------------

cdef class NLLLossCtx(_ClassLossCtx):
    """What nll_loss_backward needs: logp (N, C) (only its shape and dtype are used), target (N,)
    int64, reduction, ignore_index, count (rows that count in the mean)."""
    cdef readonly cnp.ndarray logp

    def __repr__(self):
        return (f"NLLLossCtx(logp={shape_str(self.logp)}, reduction={self.reduction!r}, "
                f"ignore_index={self.ignore_index}, count={self.count})")


def nll_loss_forward(logp, target, reduction="mean", ignore_index=-100):
    """Negative log-likelihood: loss_i = -logp[i, target[i]].

    logp (N, C) float32/float64 (log-probabilities, e.g. from log_softmax); target (N,) int64
    class indices (rows equal to ignore_index contribute 0 and are left out of the mean's
    denominator; other indices outside [0, C) raise ValueError). reduction "mean", "sum" or
    "none". Returns ``(loss, ctx)``: a 0-d array, or (N,) for "none", of logp's dtype.
    """
    cdef int t = float_typenum(logp, "logp")
    cdef int red = reduction_code(reduction)
    cdef int64_t ii = index_arg(ignore_index, "ignore_index")
    cdef cnp.ndarray xa = logits_2d(logp, "logp")
    cdef int64_t n = xa.shape[0], c = xa.shape[1], count = n, bad = -1
    cdef cnp.ndarray ta = class_indices(target, n, xa)
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray loss = loss_array(red, 1, dims, t)
    cdef void *lp = cnp.PyArray_DATA(loss)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef void *tp = cnp.PyArray_DATA(ta)
    with nogil:
        bad = nll_loss_fwd(t, lp, &count, xp, <int64_t *>tp, n, c, ii, red)
    if bad >= 0:
        raise_bad_target(ta, bad, c, ii)
    cdef NLLLossCtx ctx = NLLLossCtx.__new__(NLLLossCtx)
    ctx.keep(ta, red, ii, count)
    ctx.logp = xa
    return loss, ctx


def nll_loss_backward(dloss, NLLLossCtx ctx not None):
    """Gradient of nll_loss_forward with respect to logp: dloss (a number or 0-d array for
    "mean"/"sum", (N,) for "none") -> dlogp (N, C), -g_i at [i, target[i]] and 0 elsewhere."""
    cdef cnp.ndarray xa = ctx.logp
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef double g = 0
    da = ctx.upstream_grad(dloss, t, ctx.target, &g)       # target has the loss's shape (N,)
    cdef int64_t n = xa.shape[0], c = xa.shape[1], ii = ctx.ignore_index
    cdef cnp.ndarray dx = new_array(2, xa.shape, t)
    cdef void *dxp = cnp.PyArray_DATA(dx)
    cdef void *dp = data_or_null(da)
    cdef void *tp = cnp.PyArray_DATA(ctx.target)
    with nogil:
        nll_loss_bwd(t, dxp, dp, g, <int64_t *>tp, n, c, ii)
    return dx


# ------------------------------------------------------------------------------------------------
# MSE and L1 (elementwise, any shape)
# ------------------------------------------------------------------------------------------------

cdef class _PointwiseLossCtx:
    cdef readonly cnp.ndarray pred, target
    cdef readonly str reduction
    cdef int red

    def __repr__(self):
        return f"{type(self).__name__}(pred={shape_str(self.pred)}, reduction={self.reduction!r})"


cdef class MSELossCtx(_PointwiseLossCtx):
    """What mse_loss_backward needs: pred and target (same shape), reduction."""


cdef class L1LossCtx(_PointwiseLossCtx):
    """What l1_loss_backward needs: pred and target (same shape), reduction."""


cdef _pointwise_forward(_PointwiseLossCtx ctx, object pred, object target, object reduction, bint square):
    cdef int t = float_typenum(pred, "pred")
    check_same_dtype(t, target, "target", "pred")
    cdef int red = reduction_code(reduction)
    cdef cnp.ndarray pa = c_array(pred), ta = c_array(target)
    if not cnp.PyArray_SAMESHAPE(pa, ta):
        raise ValueError(f"target must have pred's shape {shape_str(pa)} (no broadcasting), "
                         f"got {shape_str(ta)}")
    cdef int64_t n = cnp.PyArray_SIZE(pa)
    cdef cnp.ndarray loss = loss_array(red, cnp.PyArray_NDIM(pa), cnp.PyArray_DIMS(pa), t)
    cdef void *lp = cnp.PyArray_DATA(loss)
    cdef void *pp = cnp.PyArray_DATA(pa)
    cdef void *tp = cnp.PyArray_DATA(ta)
    with nogil:
        if square:
            mse_loss_fwd(t, lp, pp, tp, n, red)
        else:
            l1_loss_fwd(t, lp, pp, tp, n, red)
    ctx.pred = pa
    ctx.target = ta
    ctx.reduction = REDUCTION_NAMES[red]
    ctx.red = red
    return loss, ctx


cdef cnp.ndarray _pointwise_backward(object dloss, _PointwiseLossCtx ctx, bint square):
    cdef cnp.ndarray pa = ctx.pred
    cdef int t = cnp.PyArray_TYPE(pa)
    cdef double g = 0
    da = upstream(dloss, t, ctx.red, pa, &g)
    cdef int64_t n = cnp.PyArray_SIZE(pa)
    if ctx.red == FNN_REDUCE_MEAN:
        g = g / n if n > 0 else 0.0
    cdef cnp.ndarray dx = new_array(cnp.PyArray_NDIM(pa), cnp.PyArray_DIMS(pa), t)
    cdef void *dxp = cnp.PyArray_DATA(dx)
    cdef void *dp = data_or_null(da)
    cdef void *pp = cnp.PyArray_DATA(pa)
    cdef void *tp = cnp.PyArray_DATA(ctx.target)
    with nogil:
        if square:
            mse_loss_bwd(t, dxp, dp, g, pp, tp, n)
        else:
            l1_loss_bwd(t, dxp, dp, g, pp, tp, n)
    return dx


def mse_loss_forward(pred, target, reduction="mean"):
    """Mean squared error, elementwise ``(pred - target)**2``.

    pred and target: the same shape (any, no broadcasting) and dtype (float32/float64).
    reduction "mean" (over all elements; NaN when empty, like torch), "sum" or "none" (pred's
    shape). Returns ``(loss, ctx)``; the sum accumulates in double.
    """
    return _pointwise_forward(MSELossCtx.__new__(MSELossCtx), pred, target, reduction, True)


def mse_loss_backward(dloss, MSELossCtx ctx not None):
    """Gradient of mse_loss_forward with respect to pred: dloss (a number or 0-d array for
    "mean"/"sum", pred's shape for "none") -> dpred = 2 g (pred - target), pred's shape."""
    return _pointwise_backward(dloss, ctx, True)


def l1_loss_forward(pred, target, reduction="mean"):
    """Mean absolute error, elementwise ``|pred - target|``.

    pred and target: the same shape (any, no broadcasting) and dtype (float32/float64).
    reduction "mean", "sum" or "none" (pred's shape). Returns ``(loss, ctx)``.
    """
    return _pointwise_forward(L1LossCtx.__new__(L1LossCtx), pred, target, reduction, False)


def l1_loss_backward(dloss, L1LossCtx ctx not None):
    """Gradient of l1_loss_forward with respect to pred: dloss (a number or 0-d array for
    "mean"/"sum", pred's shape for "none") -> dpred = g * sign(pred - target), pred's shape,
    with sign(0) = 0 (torch's subgradient)."""
    return _pointwise_backward(dloss, ctx, False)


def _expf(x, bint nonpositive=False):
    """Test hook: the family's private vectorised float32 exp, elementwise on a float32 array
    (nonpositive: the variant for arguments <= 0 that cross-entropy uses)."""
    if not cnp.PyArray_Check(x) or cnp.PyArray_TYPE(<cnp.ndarray>x) != cnp.NPY_FLOAT32:
        raise TypeError("x must be a float32 numpy.ndarray")
    cdef cnp.ndarray xa = c_array(x)
    cdef cnp.ndarray y = new_array(cnp.PyArray_NDIM(xa), cnp.PyArray_DIMS(xa), cnp.NPY_FLOAT32)
    fnn_loss_expf_array(<float *>cnp.PyArray_DATA(y), <float *>cnp.PyArray_DATA(xa), cnp.PyArray_SIZE(xa), nonpositive)
    return y
