# _activation.pyx: binding of csrc/activation.c (elementwise activations, any shape).
#
# The fast path is kept lean for tiny arrays (the per-call budget is ~1 us): the numpy C API
# only, no Python-level helpers, one allocation for the output and one for the ctx.
include "_module.pxi"

cdef extern from "activation.h" nogil:
    enum:
        FNN_MATHFN_EXP
        FNN_MATHFN_EXPM1
        FNN_MATHFN_SIGMOID
        FNN_MATHFN_TANH
        FNN_MATHFN_ERF
    void fnn_relu_fwd_f32(float *y, const float *x, int64_t n)
    void fnn_relu_fwd_f64(double *y, const double *x, int64_t n)
    void fnn_relu_bwd_f32(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_relu_bwd_f64(double *dx, const double *dy, const double *y, int64_t n)
    void fnn_sigmoid_fwd_f32(float *y, const float *x, int64_t n)
    void fnn_sigmoid_fwd_f64(double *y, const double *x, int64_t n)
    void fnn_sigmoid_bwd_f32(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_sigmoid_bwd_f64(double *dx, const double *dy, const double *y, int64_t n)
    void fnn_tanh_fwd_f32(float *y, const float *x, int64_t n)
    void fnn_tanh_fwd_f64(double *y, const double *x, int64_t n)
    void fnn_tanh_bwd_f32(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_tanh_bwd_f64(double *dx, const double *dy, const double *y, int64_t n)
    void fnn_sign_fwd_f32(float *y, const float *x, int64_t n)
    void fnn_sign_fwd_f64(double *y, const double *x, int64_t n)
    void fnn_gelu_fwd_f32(float *y, const float *x, int64_t n)
    void fnn_gelu_fwd_f64(double *y, const double *x, int64_t n)
    void fnn_gelu_bwd_f32(float *dx, const float *dy, const float *x, int64_t n)
    void fnn_gelu_bwd_f64(double *dx, const double *dy, const double *x, int64_t n)

# The kernels called directly (not through apply_unary / apply_grad below) are called once, on
# void pointers, through FNN_BY_DTYPE (_module.pxi). negative_slope is a real in C: the double
# passed converts to float for float32, as torch rounds it.
cdef extern from * nogil:
    """
    #define leaky_relu_fwd(t, ...) FNN_BY_DTYPE(t, fnn_leaky_relu_fwd, __VA_ARGS__)
    #define leaky_relu_bwd(t, ...) FNN_BY_DTYPE(t, fnn_leaky_relu_bwd, __VA_ARGS__)
    #define mathfn_eval(t, ...) FNN_BY_DTYPE(t, fnn_mathfn_eval, __VA_ARGS__)
    """
    void leaky_relu_fwd(int t, void *y, const void *x, int64_t n, double negative_slope)
    void leaky_relu_bwd(int t, void *dx, const void *dy, const void *x, int64_t n,
                        double negative_slope)
    void mathfn_eval(int t, void *y, const void *x, int64_t n, int fn)


__all__ = ["relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
           "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
           "sign_forward", "sign_backward", "gelu_forward", "gelu_backward"]

# ---- ctx classes: what each backward needs ------------------------------------------------------

cdef class _OutputCtx:
    """A ctx that keeps y, the forward's output; the repr names the subclass."""
    cdef readonly cnp.ndarray y

    def __repr__(self):
        return f"{type(self).__name__}(y={shape_str(self.y)})"


cdef class ReluCtx(_OutputCtx):
    """What relu_backward needs: y, the forward's output (x's shape)."""


cdef class LeakyReluCtx:
    """What leaky_relu_backward needs: x, the forward's input (C-contiguous), and negative_slope."""
    cdef readonly cnp.ndarray x
    cdef readonly double negative_slope

    def __repr__(self):
        return f"LeakyReluCtx(x={shape_str(self.x)}, negative_slope={self.negative_slope!r})"


cdef class SigmoidCtx(_OutputCtx):
    """What sigmoid_backward needs: y, the forward's output."""


cdef class TanhCtx(_OutputCtx):
    """What tanh_backward needs: y, the forward's output."""


cdef class SignCtx(_OutputCtx):
    """What sign_backward needs: y, the forward's output (only its shape and dtype are used)."""


cdef class GeluCtx:
    """What gelu_backward needs: x, the forward's input (C-contiguous)."""
    cdef readonly cnp.ndarray x

    def __repr__(self):
        return f"GeluCtx(x={shape_str(self.x)})"


# ---- border helpers -------------------------------------------------------------------------------



# empty_like(), grad_like(): fastnn/_common.pxd


# Every activation without a parameter has the same two kernel shapes: y = f(x) and
# dx = g(dy, saved), saved being the forward's y or x. These two helpers do the dtype dispatch
# once for all of them.
ctypedef void (*unary_f32)(float *, const float *, int64_t) noexcept nogil
ctypedef void (*unary_f64)(double *, const double *, int64_t) noexcept nogil
ctypedef void (*grad_f32)(float *, const float *, const float *, int64_t) noexcept nogil
ctypedef void (*grad_f64)(double *, const double *, const double *, int64_t) noexcept nogil


cdef inline cnp.ndarray apply_unary(cnp.ndarray xa, object out, object x, unary_f32 f32, unary_f64 f64):
    """y = f(xa), elementwise, with the GIL released, into a new array or into out (checked
    against x, the caller's argument; out_like() in _common.pxd)."""
    cdef cnp.ndarray y = out_like(xa, out, x)
    cdef int64_t n = cnp.PyArray_SIZE(xa)
    cdef void *yp = cnp.PyArray_DATA(y)
    cdef void *xp = cnp.PyArray_DATA(xa)
    cdef bint single = cnp.PyArray_TYPE(xa) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            f32(<float *>yp, <const float *>xp, n)
        else:
            f64(<double *>yp, <const double *>xp, n)
    return y


cdef inline tuple forward_keeping_y(object x, object out, _OutputCtx ctx, unary_f32 f32,
                                    unary_f64 f64):
    """(y, ctx) of an activation whose backward reads its output: y = f(x) (apply_unary) and
    ctx.y = y; ctx is a new ctx of the op's class."""
    float_typenum(x, "x")
    cdef cnp.ndarray y = apply_unary(c_array(x), out, x, f32, f64)
    ctx.y = y
    return y, ctx


cdef inline cnp.ndarray apply_grad(object dy, cnp.ndarray saved, grad_f32 f32, grad_f64 f64):
    """dy checked against the ctx's saved array, then a new array dx = g(dy, saved)."""
    cdef cnp.ndarray dya = grad_like(dy, saved)
    cdef cnp.ndarray dx = empty_like(saved)
    cdef int64_t n = cnp.PyArray_SIZE(saved)
    cdef void *dxp = cnp.PyArray_DATA(dx)
    cdef void *dyp = cnp.PyArray_DATA(dya)
    cdef void *sp = cnp.PyArray_DATA(saved)
    cdef bint single = cnp.PyArray_TYPE(saved) == cnp.NPY_FLOAT32
    with nogil:
        if single:
            f32(<float *>dxp, <const float *>dyp, <const float *>sp, n)
        else:
            f64(<double *>dxp, <const double *>dyp, <const double *>sp, n)
    return dx


# ---- relu -------------------------------------------------------------------------------------------

def relu_forward(x, *, out=None):
    """ReLU: ``y = max(x, 0)`` elementwise (NaN stays NaN, -0 stays -0, as torch.relu).

    x: any shape, float32 or float64. Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before relu_backward gives wrong gradients.
    """
    return forward_keeping_y(x, out, ReluCtx.__new__(ReluCtx), fnn_relu_fwd_f32, fnn_relu_fwd_f64)


def relu_backward(dy, ReluCtx ctx not None):
    """Gradient of relu_forward: ``dx = dy where y > 0, else 0`` (relu'(0) = 0; a NaN input passes
    dy through, as torch). dy: the forward output's shape and dtype. Returns dx (same)."""
    return apply_grad(dy, ctx.y, fnn_relu_bwd_f32, fnn_relu_bwd_f64)


# ---- leaky relu -------------------------------------------------------------------------------------

def leaky_relu_forward(x, negative_slope=0.01, *, out=None):
    """Leaky ReLU: ``y = x if x > 0 else negative_slope * x`` elementwise.

    x: any shape, float32 or float64; negative_slope: a float (rounded to x's dtype, as torch).
    Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    cdef double negative_slope_ = real_arg(negative_slope, "negative_slope")
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    cdef cnp.ndarray y = out_like(xa, out, x)
    cdef int64_t n = cnp.PyArray_SIZE(xa)
    with nogil:
        leaky_relu_fwd(t, cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), n, negative_slope_)
    cdef LeakyReluCtx ctx = LeakyReluCtx.__new__(LeakyReluCtx)
    ctx.x = xa
    ctx.negative_slope = negative_slope_
    return y, ctx


def leaky_relu_backward(dy, LeakyReluCtx ctx not None):
    """Gradient of leaky_relu_forward: ``dx = dy if x > 0 else negative_slope * dy`` (so the
    derivative at 0 is negative_slope, as torch). dy: x's shape and dtype. Returns dx (same)."""
    cdef cnp.ndarray x = ctx.x
    cdef cnp.ndarray dya = grad_like(dy, x)
    cdef cnp.ndarray dx = empty_like(x)
    cdef int64_t n = cnp.PyArray_SIZE(x)
    cdef double slope = ctx.negative_slope
    with nogil:
        leaky_relu_bwd(cnp.PyArray_TYPE(x), cnp.PyArray_DATA(dx), cnp.PyArray_DATA(dya),
                       cnp.PyArray_DATA(x), n, slope)
    return dx


# ---- sigmoid ----------------------------------------------------------------------------------------

def sigmoid_forward(x, *, out=None):
    """Logistic sigmoid ``y = 1 / (1 + exp(-x))``, stable for any x (only exp(-|x|) is formed).

    x: any shape, float32 or float64. Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before sigmoid_backward gives wrong gradients.
    """
    return forward_keeping_y(x, out, SigmoidCtx.__new__(SigmoidCtx), fnn_sigmoid_fwd_f32,
                             fnn_sigmoid_fwd_f64)


def sigmoid_backward(dy, SigmoidCtx ctx not None):
    """Gradient of sigmoid_forward: ``dx = dy * y * (1 - y)``. dy: y's shape and dtype."""
    return apply_grad(dy, ctx.y, fnn_sigmoid_bwd_f32, fnn_sigmoid_bwd_f64)


# ---- tanh -------------------------------------------------------------------------------------------

def tanh_forward(x, *, out=None):
    """Hyperbolic tangent, elementwise.

    x: any shape, float32 or float64. Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before tanh_backward gives wrong gradients.
    """
    return forward_keeping_y(x, out, TanhCtx.__new__(TanhCtx), fnn_tanh_fwd_f32, fnn_tanh_fwd_f64)


def tanh_backward(dy, TanhCtx ctx not None):
    """Gradient of tanh_forward: ``dx = dy * (1 - y**2)``. dy: y's shape and dtype."""
    return apply_grad(dy, ctx.y, fnn_tanh_bwd_f32, fnn_tanh_bwd_f64)


# ---- sign -------------------------------------------------------------------------------------------

def sign_forward(x, *, out=None):
    """Sign: -1, 0 or 1 elementwise (sign(0) = 0; NaN stays NaN, as numpy; torch.sign gives 0).

    x: any shape, float32 or float64. Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    return forward_keeping_y(x, out, SignCtx.__new__(SignCtx), fnn_sign_fwd_f32, fnn_sign_fwd_f64)


def sign_backward(dy, SignCtx ctx not None):
    """Gradient of sign_forward: zeros of dy's shape and dtype (sign is piecewise constant)."""
    cdef cnp.ndarray y = ctx.y
    grad_like(dy, y)
    return cnp.PyArray_ZEROS(cnp.PyArray_NDIM(y), cnp.PyArray_DIMS(y), cnp.PyArray_TYPE(y), 0)


# ---- gelu -------------------------------------------------------------------------------------------

def gelu_forward(x, *, out=None):
    """GELU, exact form: ``y = 0.5 * x * (1 + erf(x / sqrt(2)))`` (torch's approximate="none").

    x: any shape, float32 or float64. Returns ``(y, ctx)``, y C-contiguous of x's shape and dtype.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    cdef cnp.ndarray y = apply_unary(xa, out, x, fnn_gelu_fwd_f32, fnn_gelu_fwd_f64)
    cdef GeluCtx ctx = GeluCtx.__new__(GeluCtx)
    ctx.x = xa
    return y, ctx


def gelu_backward(dy, GeluCtx ctx not None):
    """Gradient of gelu_forward: ``dx = dy * (Phi(x) + x * phi(x))`` with Phi, phi the standard
    normal CDF and density. dy: x's shape and dtype. Returns dx (same)."""
    return apply_grad(dy, ctx.x, fnn_gelu_bwd_f32, fnn_gelu_bwd_f64)


# ---- test hook for csrc/mathfn.h -----------------------------------------------------------------

_MATHFN = {"exp": FNN_MATHFN_EXP, "expm1": FNN_MATHFN_EXPM1, "sigmoid": FNN_MATHFN_SIGMOID,
           "tanh": FNN_MATHFN_TANH, "erf": FNN_MATHFN_ERF}


def _mathfn_for_tests(name, x):
    """Apply one of csrc/mathfn.h's vectorised helpers ("exp", "expm1", "sigmoid", "tanh", "erf") to a
    float32/float64 array; returns a new C-contiguous array. Private: for tests/test_mathfn.py."""
    cdef int fn = _MATHFN[name]
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    cdef cnp.ndarray y = empty_like(xa)
    cdef int64_t n = cnp.PyArray_SIZE(xa)
    with nogil:
        mathfn_eval(t, cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), n, fn)
    return y
