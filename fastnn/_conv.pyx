# _conv.pyx: binding of csrc/conv.c (im2col, col2im, conv2d forward/backward).
"""2-D convolution kernels (NCHW, PyTorch's layouts): im2col/col2im and conv2d forward/backward.

Workspace: conv2d_forward/backward need scratch for the column matrices (one slice per thread,
a few MB). It lives in a module-level cache that grows to the largest size asked for and is
reused by later calls, so steady-state training allocates nothing per call beyond its outputs
(fresh memory costs page faults: see DESIGN, "Memory is part of speed"). The cache is taken
while the GIL is held; a call from a second Python thread that finds it in use allocates a
private workspace for that call instead, so the kernels may run concurrently from several
threads. ``_workspace_nbytes()`` reports the cache's size, ``_release_workspace()`` frees it.
"""
include "_module.pxi"

from libc.stdlib cimport malloc, free
from libc.stdint cimport INT64_MAX
import numpy as np

cdef extern from "conv.h" nogil:
    ctypedef struct fnn_conv_geom:
        int64_t n, c, h, w
        int64_t c_out, kh, kw
        int64_t sh, sw, ph, pw, dh, dw
        int64_t groups
        int64_t h_out, w_out
        int threads
    int64_t fnn_conv2d_workspace_bytes(const fnn_conv_geom *g, int backward, int act, int elem_size)

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi); im2col and
# col2im are the Python functions' names, so their kernels' macros end in _kernel.
cdef extern from * nogil:
    """
    #define im2col_kernel(t, ...) FNN_BY_DTYPE(t, fnn_im2col, __VA_ARGS__)
    #define col2im_kernel(t, ...) FNN_BY_DTYPE(t, fnn_col2im, __VA_ARGS__)
    #define conv2d_fwd(t, ...) FNN_BY_DTYPE(t, fnn_conv2d_fwd, __VA_ARGS__)
    #define conv2d_bwd(t, ...) FNN_BY_DTYPE(t, fnn_conv2d_bwd, __VA_ARGS__)
    """
    void im2col_kernel(int t, void *cols, const void *x, const fnn_conv_geom *g)
    void col2im_kernel(int t, void *x, const void *cols, const fnn_conv_geom *g)
    void conv2d_fwd(int t, void *y, void *work, const void *x, const void *w, const void *b,
                    const fnn_conv_geom *g, int act)
    void conv2d_bwd(int t, void *dx, void *dw, void *db, void *work, const void *dy,
                    const void *x, const void *w, const void *y, const fnn_conv_geom *g, int act)

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]

CONV_ACTIVATIONS = (None, "relu")


# ---------------------------------------------------------------------------------------------
# argument checks (the same wording as fastnn/reference/conv.py)

# pair(): fastnn/_common.pxd

cdef int64_t size_product(int64_t a, int64_t b, str what) except -1:
    """a * b for sizes a, b >= 0; ValueError instead of a wrapped int64."""
    if a != 0 and b > INT64_MAX // a:
        raise ValueError(f"{what} = {a} * {b} is too large: it overflows 64-bit sizes")
    return a * b


cdef int conv_sizes(fnn_conv_geom *g, object kernel_size, object stride, object padding,
                    object dilation) except -1:
    """Fill and check the kernel size (when kernel_size is not None), stride, padding, dilation
    and output size of g, whose h and w are set."""
    if kernel_size is not None:
        pair(kernel_size, "kernel_size", &g.kh, &g.kw)
    pair(stride, "stride", &g.sh, &g.sw)
    pair(padding, "padding", &g.ph, &g.pw)
    pair(dilation, "dilation", &g.dh, &g.dw)
    if g.kh <= 0 or g.kw <= 0:
        raise ValueError(f"kernel size must be positive, got ({g.kh}, {g.kw})")
    if g.sh <= 0 or g.sw <= 0:
        raise ValueError(f"stride must be positive, got {stride!r}")
    if g.ph < 0 or g.pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    if g.dh <= 0 or g.dw <= 0:
        raise ValueError(f"dilation must be positive, got {dilation!r}")
    cdef int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1
    if eh > g.h + 2 * g.ph or ew > g.w + 2 * g.pw:
        raise ValueError(f"kernel ({g.kh}, {g.kw}) with dilation ({g.dh}, {g.dw}) spans ({eh}, {ew}), "
                         f"larger than the padded input ({g.h + 2 * g.ph}, {g.w + 2 * g.pw})")
    g.h_out = (g.h + 2 * g.ph - eh) // g.sh + 1
    g.w_out = (g.w + 2 * g.pw - ew) // g.sw + 1
    size_product(g.h_out, g.w_out, "H_out*W_out")      # later products of the two cannot wrap
    return 0


# ---------------------------------------------------------------------------------------------
# the workspace cache

cdef class _Workspace:
    cdef void *ptr
    cdef int64_t nbytes

    def __dealloc__(self):
        free(self.ptr)


cdef _Workspace _cache = None
cdef bint _cache_busy = False


cdef _Workspace workspace_acquire(int64_t nbytes):
    """The cached workspace (grown to nbytes) if free, else a private one for this call."""
    global _cache, _cache_busy
    cdef _Workspace ws
    if not _cache_busy:
        _cache_busy = True            # taken under the GIL, before anything can switch threads
        if _cache is None:
            _cache = _Workspace.__new__(_Workspace)
        ws = _cache
    else:
        ws = _Workspace.__new__(_Workspace)
    if ws.nbytes < nbytes:
        free(ws.ptr)
        ws.ptr = malloc(<size_t>nbytes)
        ws.nbytes = nbytes if ws.ptr != NULL else 0
        if ws.ptr == NULL:
            workspace_release(ws)
            raise MemoryError(f"conv2d: cannot allocate a workspace of {nbytes} bytes")
    return ws


cdef inline void workspace_release(_Workspace ws):
    global _cache_busy
    if ws is _cache:
        _cache_busy = False


def _workspace_nbytes():
    """Bytes held by the module's cached conv2d workspace."""
    return 0 if _cache is None else _cache.nbytes


def _release_workspace():
    """Free the cached conv2d workspace (the next call allocates a new one)."""
    global _cache
    if not _cache_busy:
        _cache = None


# ---------------------------------------------------------------------------------------------
# im2col / col2im

def im2col(x, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """Unfold image patches into columns, exactly ``torch.nn.functional.unfold``.

    x (N, C, H, W) float32/float64; kernel_size, stride, padding, dilation an int or an (h, w)
    pair. Returns cols (N, C*kH*kW, H_out*W_out) with row (c, i, j) holding
    ``x[n, c, oh*sH - pH + i*dH, ow*sW - pW + j*dW]`` (0 in the padding).

    out: None, or a preallocated (N, C*kH*kW, H_out*W_out) array of x's dtype, C-contiguous,
    aligned, writeable and not overlapping x; cols is written into it and ``cols is out``.
    """
    cdef int t = float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    check_ndim(xa, 4, "x", "(N, C, H, W)")
    cdef fnn_conv_geom g
    g.n, g.c, g.h, g.w = xa.shape[0], xa.shape[1], xa.shape[2], xa.shape[3]
    g.c_out = g.groups = g.threads = 1
    conv_sizes(&g, kernel_size, stride, padding, dilation)
    cdef cnp.npy_intp dims[3]
    dims[0] = g.n
    dims[1] = size_product(g.c, g.kh * g.kw, "C*kH*kW")
    dims[2] = g.h_out * g.w_out
    cdef cnp.ndarray cols
    cols = result_array(out, 3, dims, t, (x,), ("x",))
    with nogil:
        im2col_kernel(t, cnp.PyArray_DATA(cols), cnp.PyArray_DATA(xa), &g)
    return cols


def col2im(cols, input_size, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """Fold columns back into images, ``torch.nn.functional.fold``: the adjoint of im2col
    (entries that came from the same pixel are summed).

    cols (N, C*kH*kW, L) float32/float64 with L = H_out*W_out; input_size the image's (H, W)
    (an int or a pair); the other sizes as in im2col. Returns x (N, C, H, W).

    out: None, or a preallocated (N, C, H, W) array of cols' dtype, C-contiguous, aligned,
    writeable and not overlapping cols; x is written into it (overwritten, not accumulated) and
    ``x is out``.
    """
    cdef int t = float_typenum(cols, "cols")
    cdef cnp.ndarray ca = c_array(cols)
    check_ndim(ca, 3, "cols", "(N, C*kH*kW, L)")
    cdef fnn_conv_geom g
    pair(input_size, "input_size", &g.h, &g.w)
    if g.h <= 0 or g.w <= 0:
        raise ValueError(f"input_size must be positive, got {input_size!r}")
    g.c_out = g.groups = g.threads = 1
    conv_sizes(&g, kernel_size, stride, padding, dilation)
    cdef int64_t kk = g.kh * g.kw
    if ca.shape[1] % kk != 0 or ca.shape[1] == 0:
        raise ValueError(f"cols {shape_str(ca)}: dimension 1 must be a positive multiple of "
                         f"kH*kW = {kk}")
    if ca.shape[2] != g.h_out * g.w_out:
        raise ValueError(f"cols {shape_str(ca)}: dimension 2 must be H_out*W_out = "
                         f"{g.h_out}*{g.w_out} = {g.h_out * g.w_out} for input_size "
                         f"({g.h}, {g.w})")
    g.n = ca.shape[0]
    g.c = ca.shape[1] // kk
    cdef cnp.npy_intp dims[4]
    dims[0] = g.n
    dims[1] = g.c
    dims[2] = g.h
    dims[3] = g.w
    cdef cnp.ndarray x
    x = result_array(out, 4, dims, t, (cols,), ("cols",))
    with nogil:
        col2im_kernel(t, cnp.PyArray_DATA(x), cnp.PyArray_DATA(ca), &g)
    return x


# ---------------------------------------------------------------------------------------------
# conv2d

cdef class Conv2dCtx:
    """What conv2d_backward needs: x (N, C, H, W), weight (C_out, C/groups, kH, kW), y the
    forward's output (after the activation), has_bias, stride, padding, dilation ((h, w) pairs),
    groups and activation."""
    cdef readonly cnp.ndarray x, weight, y
    cdef readonly bint has_bias
    cdef readonly object activation
    cdef fnn_conv_geom g
    cdef int act

    # the sizes are kept as C ints and only turned into tuples when asked for
    @property
    def stride(self):
        return (self.g.sh, self.g.sw)

    @property
    def padding(self):
        return (self.g.ph, self.g.pw)

    @property
    def dilation(self):
        return (self.g.dh, self.g.dw)

    @property
    def groups(self):
        return self.g.groups

    def __repr__(self):
        return (f"Conv2dCtx(x={shape_str(self.x)}, weight={shape_str(self.weight)}, "
                f"has_bias={self.has_bias}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, groups={self.groups}, activation={self.activation!r})")


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None,
                   *, out=None):
    """2-D convolution (cross-correlation, as torch.nn.functional.conv2d), with an optional
    fused bias + relu epilogue.

    x (N, C, H, W), weight (C_out, C/groups, kH, kW), bias (C_out,) or None, all float32 or all
    float64; stride, padding, dilation an int or an (h, w) pair; groups divides C and C_out;
    activation None or "relu". Returns ``(y, ctx)`` with y (N, C_out, H_out, W_out),
    H_out = (H + 2*pH - dH*(kH-1) - 1) // sH + 1 (W_out likewise). Scratch comes from the
    module's cached workspace (see the module docstring).

    out: None, or a preallocated (N, C_out, H_out, W_out) array of x's dtype, C-contiguous,
    aligned, writeable and not overlapping x, weight or bias; y is written into it and
    ``y is out``. ctx.y is out: the backward reads it (with activation="relu"), so overwriting
    out before conv2d_backward gives wrong gradients.
    """
    cdef int t = float_typenum(x, "x")
    check_same_dtype(t, weight, "weight", "x")
    cdef int act
    if activation is None:
        act = FNN_ACT_NONE
    elif not isinstance(activation, str):
        raise TypeError(f"activation must be None or a str in {CONV_ACTIVATIONS}, got "
                        f"{type(activation).__name__}")
    elif activation == "relu":
        act = FNN_ACT_RELU
    else:
        raise ValueError(f"activation must be one of {CONV_ACTIVATIONS}, got {activation!r}")
    cdef cnp.ndarray xa = c_array(x), wa = c_array(weight), ba = None
    check_ndim(xa, 4, "x", "(N, C, H, W)")
    check_ndim(wa, 4, "weight", "(C_out, C_in/groups, kH, kW)")
    if type(groups) is not int and (isinstance(groups, bool) or not isinstance(groups, (int, np.integer))):
        raise TypeError(f"groups must be an int, got {groups!r}")
    cdef fnn_conv_geom g
    g.n, g.c, g.h, g.w = xa.shape[0], xa.shape[1], xa.shape[2], xa.shape[3]
    g.c_out, g.kh, g.kw = wa.shape[0], wa.shape[2], wa.shape[3]
    g.groups = size_arg(groups, "groups", groups)        # ValueError beyond 2**31, not OverflowError
    if g.groups <= 0:
        raise ValueError(f"groups must be positive, got {groups}")
    if g.c <= 0 or g.h <= 0 or g.w <= 0:
        raise ValueError(f"x {shape_str(xa)}: channels, height and width must be positive")
    if g.c_out <= 0:
        raise ValueError(f"weight {shape_str(wa)}: C_out must be positive")
    if g.c % g.groups != 0 or g.c_out % g.groups != 0:
        raise ValueError(f"groups = {g.groups} must divide both the input channels ({g.c}) and "
                         f"the output channels ({g.c_out})")
    if wa.shape[1] != g.c // g.groups:
        raise ValueError(f"weight {shape_str(wa)} does not match x {shape_str(xa)} with groups = "
                         f"{g.groups}: weight must be (C_out, {g.c // g.groups}, kH, kW)")
    conv_sizes(&g, None, stride, padding, dilation)
    if bias is not None:
        check_same_dtype(t, bias, "bias", "x")
        ba = c_array(bias)
        if ba.ndim != 1 or ba.shape[0] != g.c_out:
            raise ValueError(f"bias must have shape ({g.c_out},) to match weight {shape_str(wa)}, "
                             f"got {shape_str(ba)}")
    check_blas_dim(g.c * g.kh * g.kw, "C*kH*kW")
    check_blas_dim(g.h_out * g.w_out, "H_out*W_out")
    check_blas_dim(g.c_out, "C_out")
    g.threads = fnn_get_num_threads()
    cdef cnp.npy_intp dims[4]
    dims[0] = g.n
    dims[1] = g.c_out
    dims[2] = g.h_out
    dims[3] = g.w_out
    cdef cnp.ndarray y
    y = result_array(out, 4, dims, t, (x, weight, bias), ("x", "weight", "bias"))
    cdef void *bp = NULL if ba is None else cnp.PyArray_DATA(ba)
    cdef _Workspace ws = workspace_acquire(
        fnn_conv2d_workspace_bytes(&g, 0, act, cnp.PyArray_ITEMSIZE(xa)))
    try:
        with nogil:
            conv2d_fwd(t, cnp.PyArray_DATA(y), ws.ptr, cnp.PyArray_DATA(xa), cnp.PyArray_DATA(wa),
                       bp, &g, act)
    finally:
        workspace_release(ws)
    cdef Conv2dCtx ctx = Conv2dCtx.__new__(Conv2dCtx)
    ctx.x = xa
    ctx.weight = wa
    ctx.y = y
    ctx.has_bias = ba is not None
    ctx.activation = activation
    ctx.g = g
    ctx.act = act
    return y, ctx


def conv2d_backward(dy, Conv2dCtx ctx not None, input_grad=True):
    """Gradients of conv2d_forward: dy (N, C_out, H_out, W_out) ->
    ``(dx (N, C, H, W), dweight (C_out, C/groups, kH, kW), dbias (C_out,))``, dbias None when
    the forward had no bias. The bias gradient is accumulated in double.
    ``input_grad=False`` skips dx (returned as None; no input-gradient GEMM, no col2im): a
    network's first layer does not need it."""
    cdef bint input_grad_ = flag_arg(input_grad, "input_grad")
    cdef cnp.ndarray xa = ctx.x, wa = ctx.weight
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef fnn_conv_geom g = ctx.g
    cdef cnp.npy_intp dims[4]
    dims[0] = g.n
    dims[1] = g.c_out
    dims[2] = g.h_out
    dims[3] = g.w_out
    cdef cnp.ndarray dya = grad_of_shape(dy, t, 4, dims)
    g.threads = fnn_get_num_threads()
    cdef cnp.ndarray dx = new_array(4, xa.shape, t) if input_grad_ else None
    cdef void *dxp = cnp.PyArray_DATA(dx) if input_grad_ else NULL
    cdef cnp.ndarray dw = new_array(4, wa.shape, t)
    cdef cnp.ndarray db = None
    cdef void *dbp = NULL
    if ctx.has_bias:
        db = new_array(1, wa.shape, t)
        dbp = cnp.PyArray_DATA(db)
    cdef int act = ctx.act
    cdef _Workspace ws = workspace_acquire(
        fnn_conv2d_workspace_bytes(&g, 1, act, cnp.PyArray_ITEMSIZE(xa)))
    try:
        with nogil:
            conv2d_bwd(t, dxp, cnp.PyArray_DATA(dw), dbp, ws.ptr, cnp.PyArray_DATA(dya),
                       cnp.PyArray_DATA(xa), cnp.PyArray_DATA(wa), cnp.PyArray_DATA(ctx.y), &g, act)
    finally:
        workspace_release(ws)
    return dx, dw, db
