# _linear.pyx: binding of csrc/linear.c (fully connected layer with fused bias + activation).
include "_module.pxi"

cdef extern from "linear.h":
    pass

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define linear_fwd(t, ...) FNN_BY_DTYPE(t, fnn_linear_fwd, __VA_ARGS__)
    #define linear_bwd(t, ...) FNN_BY_DTYPE(t, fnn_linear_bwd, __VA_ARGS__)
    """
    void linear_fwd(int t, void *y, const void *x, const void *w, const void *b,
                    int64_t n, int64_t i, int64_t o, int act)
    void linear_bwd(int t, void *dx, void *dw, void *db, void *dz, const void *dy,
                    const void *x, const void *w, const void *y,
                    int64_t n, int64_t i, int64_t o, int act)

__all__ = ["linear_forward", "linear_backward"]

LINEAR_ACTIVATIONS = (None, "relu", "sigmoid", "tanh")


cdef int activation_code(object activation) except -1:
    if activation is None:
        return FNN_ACT_NONE
    if not isinstance(activation, str):
        raise TypeError(f"activation must be None or a str in {LINEAR_ACTIVATIONS}, got "
                        f"{type(activation).__name__}")
    if activation == "relu":
        return FNN_ACT_RELU
    if activation == "sigmoid":
        return FNN_ACT_SIGMOID
    if activation == "tanh":
        return FNN_ACT_TANH
    raise ValueError(f"activation must be one of {LINEAR_ACTIVATIONS}, got {activation!r}")


cdef class LinearCtx:
    """What linear_backward needs: x (N, in), weight (out, in), y (N, out) the forward's output
    (after the activation), has_bias and activation."""
    cdef readonly cnp.ndarray x, weight, y
    cdef readonly bint has_bias
    cdef readonly object activation
    cdef int act

    def __repr__(self):
        return (f"LinearCtx(x={shape_str(self.x)}, weight={shape_str(self.weight)}, "
                f"has_bias={self.has_bias}, activation={self.activation!r})")


def linear_forward(x, weight, bias=None, activation=None, *, out=None):
    """Fully connected layer: ``y = act(x @ weight.T + bias)`` in one fused pass.

    x (N, in), weight (out, in), bias (out,) or None; activation None, "relu", "sigmoid" or
    "tanh". float32 or float64, all the same dtype. Returns ``(y, ctx)`` with y (N, out).

    out: None, or a preallocated (N, out) array of x's dtype, C-contiguous, aligned, writeable
    and not overlapping x, weight or bias; y is written into it and ``y is out``. ctx.y is
    out: the backward reads it, so overwriting out before linear_backward gives wrong gradients.
    """
    cdef int t = float_typenum(x, "x")
    check_same_dtype(t, weight, "weight", "x")
    cdef int act = activation_code(activation)
    cdef cnp.ndarray xa = c_array(x), wa = c_array(weight), ba = None
    check_ndim(xa, 2, "x", "(N, in_features)")
    check_ndim(wa, 2, "weight", "(out_features, in_features)")
    cdef int64_t n = xa.shape[0], fin = xa.shape[1], fout = wa.shape[0]
    if wa.shape[1] != fin:
        raise ValueError(f"weight {shape_str(wa)} does not match x {shape_str(xa)}: "
                         f"weight must be (out_features, {fin})")
    if bias is not None:
        check_same_dtype(t, bias, "bias", "x")
        ba = c_array(bias)
        if ba.ndim != 1 or ba.shape[0] != fout:
            raise ValueError(f"bias must have shape ({fout},) to match weight {shape_str(wa)}, "
                             f"got {shape_str(ba)}")
    check_blas_dim(n, "x.shape[0]")
    check_blas_dim(fin, "in_features")
    check_blas_dim(fout, "out_features")
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = fout
    cdef cnp.ndarray y
    y = new_array(2, dims, t) if out is None else \
        result_array(out, 2, dims, t, (x, weight, bias), ("x", "weight", "bias"))
    cdef void *bp = NULL if ba is None else cnp.PyArray_DATA(ba)
    with nogil:
        linear_fwd(t, cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), cnp.PyArray_DATA(wa), bp,
                   n, fin, fout, act)
    cdef LinearCtx ctx = LinearCtx.__new__(LinearCtx)
    ctx.x = xa
    ctx.weight = wa
    ctx.y = y
    ctx.has_bias = ba is not None
    ctx.activation = activation
    ctx.act = act
    return y, ctx


def linear_backward(dy, LinearCtx ctx not None, input_grad=True):
    """Gradients of linear_forward: dy (N, out) -> ``(dx (N, in), dweight (out, in), dbias (out,))``,
    dbias None when the forward had no bias. The bias gradient is accumulated in double.
    ``input_grad=False`` skips dx (returned as None): a network's first layer does not need it,
    and it costs as much as the weight gradient."""
    cdef bint input_grad_ = flag_arg(input_grad, "input_grad")
    cdef cnp.ndarray xa = ctx.x, wa = ctx.weight
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int64_t n = xa.shape[0], fin = xa.shape[1], fout = wa.shape[0]
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = fout
    cdef cnp.ndarray dya = grad_of_shape(dy, t, 2, dims)
    cdef cnp.ndarray dx = new_array(2, xa.shape, t) if input_grad_ else None
    cdef cnp.ndarray dw = new_array(2, wa.shape, t)
    cdef void *dxp = cnp.PyArray_DATA(dx) if input_grad_ else NULL
    cdef cnp.ndarray db = None, dz = None
    cdef void *dbp = NULL
    cdef void *dzp = NULL
    if ctx.has_bias:
        db = new_array(1, wa.shape, t)
        dbp = cnp.PyArray_DATA(db)
    if ctx.act != FNN_ACT_NONE:
        dz = new_array(2, dya.shape, t)
        dzp = cnp.PyArray_DATA(dz)
    cdef int act = ctx.act
    with nogil:
        linear_bwd(t, dxp, cnp.PyArray_DATA(dw), dbp, dzp, cnp.PyArray_DATA(dya),
                   cnp.PyArray_DATA(xa), cnp.PyArray_DATA(wa), cnp.PyArray_DATA(ctx.y),
                   n, fin, fout, act)
    return dx, dw, db
