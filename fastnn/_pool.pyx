# _pool.pyx: binding of csrc/pool.c (max pooling with argmax, average and global average pooling).
"""2-D pooling kernels (NCHW): max pooling with argmax (PyTorch's tie and NaN rules), average
pooling (count_include_pad either way) and global average pooling, forward and backward.
ceil_mode as PyTorch's: output sizes rounded up, a last window never starting in the bottom or
right padding."""
include "_module.pxi"

import numpy as np
from libc.stdint cimport int32_t

cdef extern from "pool.h" nogil:
    ctypedef struct fnn_pool_geom:
        int64_t n, c, h, w
        int64_t kh, kw, sh, sw, ph, pw
        int64_t h_out, w_out

# Each kernel is called once, on void pointers, through FNN_BY_DTYPE (_module.pxi).
cdef extern from * nogil:
    """
    #define max_pool_fwd(t, ...) FNN_BY_DTYPE(t, fnn_max_pool2d_fwd, __VA_ARGS__)
    #define max_pool_bwd(t, ...) FNN_BY_DTYPE(t, fnn_max_pool2d_bwd, __VA_ARGS__)
    #define avg_pool_fwd(t, ...) FNN_BY_DTYPE(t, fnn_avg_pool2d_fwd, __VA_ARGS__)
    #define avg_pool_bwd(t, ...) FNN_BY_DTYPE(t, fnn_avg_pool2d_bwd, __VA_ARGS__)
    #define global_avg_pool_fwd(t, ...) FNN_BY_DTYPE(t, fnn_global_avg_pool2d_fwd, __VA_ARGS__)
    #define global_avg_pool_bwd(t, ...) FNN_BY_DTYPE(t, fnn_global_avg_pool2d_bwd, __VA_ARGS__)
    """
    void max_pool_fwd(int t, void *y, int32_t *argmax, const void *x, const fnn_pool_geom *g)
    void max_pool_bwd(int t, void *dx, const void *dy, const int32_t *argmax, const fnn_pool_geom *g)
    void avg_pool_fwd(int t, void *y, const void *x, const fnn_pool_geom *g, int count_include_pad)
    void avg_pool_bwd(int t, void *dx, const void *dy, const fnn_pool_geom *g, int count_include_pad)
    void global_avg_pool_fwd(int t, void *y, const void *x, int64_t planes, int64_t hw)
    void global_avg_pool_bwd(int t, void *dx, const void *dy, int64_t planes, int64_t hw)

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
           "global_avg_pool2d_forward", "global_avg_pool2d_backward"]

cdef enum:
    INT32_MAX_ = 2147483647


# pair(): fastnn/_common.pxd


cdef cnp.ndarray pool_setup(fnn_pool_geom *g, object x, object kernel_size, object stride,
                            object padding, object ceil_mode):
    """Check x and the sizes (same wording as fastnn/reference/pool.py), fill g; x as C array."""
    float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    check_ndim(xa, 4, "x", "(N, C, H, W)")
    g.n, g.c, g.h, g.w = xa.shape[0], xa.shape[1], xa.shape[2], xa.shape[3]
    pair(kernel_size, "kernel_size", &g.kh, &g.kw)
    pair(kernel_size if stride is None else stride, "stride", &g.sh, &g.sw)
    pair(padding, "padding", &g.ph, &g.pw)
    if g.kh <= 0 or g.kw <= 0:
        raise ValueError(f"kernel_size must be positive, got {kernel_size!r}")
    if g.sh <= 0 or g.sw <= 0:
        raise ValueError(f"stride must be positive, got {stride!r}")
    if g.ph < 0 or g.pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    if 2 * g.ph > g.kh or 2 * g.pw > g.kw:
        raise ValueError(f"padding ({g.ph}, {g.pw}) must be at most half the kernel size "
                         f"({g.kh}, {g.kw})")
    if g.h <= 0 or g.w <= 0:
        raise ValueError(f"x {shape_str(xa)}: height and width must be positive")
    if g.kh > g.h + 2 * g.ph or g.kw > g.w + 2 * g.pw:
        raise ValueError(f"kernel ({g.kh}, {g.kw}) is larger than the padded input "
                         f"({g.h + 2 * g.ph}, {g.w + 2 * g.pw})")
    if g.h * g.w > INT32_MAX_:
        raise ValueError(f"x {shape_str(xa)}: planes of more than 2**31 - 1 pixels are not supported")
    cdef bint ceil = flag_arg(ceil_mode, "ceil_mode")
    g.h_out = pool_out_size(g.h, g.kh, g.sh, g.ph, ceil)
    g.w_out = pool_out_size(g.w, g.kw, g.sw, g.pw, ceil)
    return xa


cdef inline int64_t pool_out_size(int64_t n, int64_t k, int64_t s, int64_t p, bint ceil):
    """floor((n + 2p - k) / s) + 1, or with ceil_mode the ceiling, less one when that last window
    would start past n + p (PyTorch's rule; the same in fastnn/reference/pool.py)."""
    cdef int64_t out = (n + 2 * p - k + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


cdef cnp.ndarray check_dy(object dy, int t, int64_t n, int64_t c, int64_t h_out, int64_t w_out):
    """A backward's dy checked to be the forward output's dtype t and shape (n, c, h_out, w_out)."""
    cdef cnp.npy_intp dims[4]
    dims[0] = n
    dims[1] = c
    dims[2] = h_out
    dims[3] = w_out
    return grad_of_shape(dy, t, 4, dims)


cdef cnp.ndarray out4(int64_t a, int64_t b, int64_t c, int64_t d, int typenum, object out=None,
                      object x=None):
    """A result of shape (a, b, c, d): a new array, or a forward's out checked to receive it and
    not to overlap x (_common.pxd)."""
    cdef cnp.npy_intp dims[4]
    dims[0] = a
    dims[1] = b
    dims[2] = c
    dims[3] = d
    if out is None:
        return new_array(4, dims, typenum)
    cdef cnp.ndarray o = check_out(out, 4, dims, typenum)
    check_no_overlap(o, x, "x")
    return o


# ---------------------------------------------------------------------------------------------
# max pooling

cdef class _PoolCtx:
    """The window geometry both pooling contexts keep: input_shape (N, C, H, W), kernel_size,
    stride, padding ((h, w) pairs) and the dtype, stored as C ints and turned into tuples only
    when asked for."""
    cdef fnn_pool_geom g
    cdef int t

    @property
    def input_shape(self):
        return (self.g.n, self.g.c, self.g.h, self.g.w)

    @property
    def output_size(self):
        return (self.g.h_out, self.g.w_out)

    @property
    def kernel_size(self):
        return (self.g.kh, self.g.kw)

    @property
    def stride(self):
        return (self.g.sh, self.g.sw)

    @property
    def padding(self):
        return (self.g.ph, self.g.pw)

    @property
    def dtype(self):
        return cnp.PyArray_DescrFromType(self.t)


cdef class MaxPool2dCtx(_PoolCtx):
    """What max_pool2d_backward needs: input_shape (N, C, H, W), indices (N, C, H_out, W_out)
    int32, the flat index ih*W + iw of each window's maximum in its plane (torch's indices),
    kernel_size, stride, padding ((h, w) pairs) and the dtype."""
    cdef readonly cnp.ndarray indices

    def __repr__(self):
        return (f"MaxPool2dCtx(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, *, out=None):
    """2-D max pooling with argmax.

    x (N, C, H, W) float32/float64; kernel_size, stride (None: = kernel_size), padding an int
    or an (h, w) pair, padding at most half the kernel (padding counts as -inf). Ties go to the
    first maximum in row-major window order and a NaN wins, as in PyTorch. Returns
    ``(y (N, C, H_out, W_out), ctx)`` with H_out = floor((H + 2*pH - kH) / sH) + 1, or with
    ceil_mode the ceiling (less one if the last window would start in the bottom padding).
    The argmax indices stay in ctx (always a new array).

    out: None, or a preallocated (N, C, H_out, W_out) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out``. The backward does not
    read y, so out may be reused once the forward has returned.
    """
    cdef fnn_pool_geom g
    cdef cnp.ndarray xa = pool_setup(&g, x, kernel_size, stride, padding, ceil_mode)
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef cnp.ndarray y = out4(g.n, g.c, g.h_out, g.w_out, t, out, x)
    cdef cnp.ndarray idx = out4(g.n, g.c, g.h_out, g.w_out, cnp.NPY_INT32)
    with nogil:
        max_pool_fwd(t, cnp.PyArray_DATA(y), <int32_t *>cnp.PyArray_DATA(idx),
                     cnp.PyArray_DATA(xa), &g)
    cdef MaxPool2dCtx ctx = MaxPool2dCtx.__new__(MaxPool2dCtx)
    ctx.indices = idx
    ctx.g = g
    ctx.t = t
    return y, ctx


def max_pool2d_backward(dy, MaxPool2dCtx ctx not None):
    """Gradient of max_pool2d_forward: dy (N, C, H_out, W_out) -> dx (N, C, H, W), each dy
    routed to its window's argmax (summed where windows overlap)."""
    cdef fnn_pool_geom g = ctx.g
    cdef int t = ctx.t
    cdef cnp.ndarray dya = check_dy(dy, t, g.n, g.c, g.h_out, g.w_out)
    cdef cnp.ndarray dx = out4(g.n, g.c, g.h, g.w, t)
    with nogil:
        max_pool_bwd(t, cnp.PyArray_DATA(dx), cnp.PyArray_DATA(dya),
                     <int32_t *>cnp.PyArray_DATA(ctx.indices), &g)
    return dx


# ---------------------------------------------------------------------------------------------
# average pooling

cdef class AvgPool2dCtx(_PoolCtx):
    """What avg_pool2d_backward needs: input_shape (N, C, H, W), kernel_size, stride, padding
    ((h, w) pairs), count_include_pad and the dtype."""
    cdef readonly bint count_include_pad

    def __repr__(self):
        return (f"AvgPool2dCtx(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad})")


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True, ceil_mode=False,
                       *, out=None):
    """2-D average pooling.

    x (N, C, H, W) float32/float64; kernel_size, stride (None: = kernel_size), padding an int
    or an (h, w) pair, padding at most half the kernel (padding counts as 0). The divisor is
    kH*kW when count_include_pad, else the number of real pixels in the window (PyTorch's
    rule); a ceil_mode window hanging past the padded input counts only its part inside it.
    ceil_mode sizes the output as in max_pool2d_forward. Returns ``(y (N, C, H_out, W_out), ctx)``.

    out: None, or a preallocated (N, C, H_out, W_out) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out``. The backward does not
    read y, so out may be reused once the forward has returned.
    """
    cdef fnn_pool_geom g
    cdef cnp.ndarray xa = pool_setup(&g, x, kernel_size, stride, padding, ceil_mode)
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef int cip = 1 if flag_arg(count_include_pad, "count_include_pad") else 0
    cdef cnp.ndarray y = out4(g.n, g.c, g.h_out, g.w_out, t, out, x)
    with nogil:
        avg_pool_fwd(t, cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), &g, cip)
    cdef AvgPool2dCtx ctx = AvgPool2dCtx.__new__(AvgPool2dCtx)
    ctx.count_include_pad = cip
    ctx.g = g
    ctx.t = t
    return y, ctx


def avg_pool2d_backward(dy, AvgPool2dCtx ctx not None):
    """Gradient of avg_pool2d_forward: dy (N, C, H_out, W_out) -> dx (N, C, H, W), each dy
    spread evenly over its window with the forward's divisor."""
    cdef fnn_pool_geom g = ctx.g
    cdef int t = ctx.t
    cdef int cip = ctx.count_include_pad
    cdef cnp.ndarray dya = check_dy(dy, t, g.n, g.c, g.h_out, g.w_out)
    cdef cnp.ndarray dx = out4(g.n, g.c, g.h, g.w, t)
    with nogil:
        avg_pool_bwd(t, cnp.PyArray_DATA(dx), cnp.PyArray_DATA(dya), &g, cip)
    return dx


# ---------------------------------------------------------------------------------------------
# global average pooling

cdef class GlobalAvgPool2dCtx:
    """What global_avg_pool2d_backward needs: input_shape (N, C, H, W) and the dtype."""
    cdef readonly tuple input_shape
    cdef readonly object dtype
    cdef int t

    def __repr__(self):
        return f"GlobalAvgPool2dCtx(input_shape={self.input_shape})"


def global_avg_pool2d_forward(x, *, out=None):
    """Mean over each (H, W) plane, accumulated in double: x (N, C, H, W) float32/float64 ->
    ``(y (N, C, 1, 1), ctx)``.

    out: None, or a preallocated (N, C, 1, 1) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out`` (the backward does
    not read it)."""
    float_typenum(x, "x")
    cdef cnp.ndarray xa = c_array(x)
    check_ndim(xa, 4, "x", "(N, C, H, W)")
    cdef int64_t n = xa.shape[0], c = xa.shape[1], h = xa.shape[2], w = xa.shape[3]
    if h <= 0 or w <= 0:
        raise ValueError(f"x {shape_str(xa)}: height and width must be positive")
    cdef int t = cnp.PyArray_TYPE(xa)
    cdef cnp.ndarray y = out4(n, c, 1, 1, t, out, x)
    with nogil:
        global_avg_pool_fwd(t, cnp.PyArray_DATA(y), cnp.PyArray_DATA(xa), n * c, h * w)
    cdef GlobalAvgPool2dCtx ctx = GlobalAvgPool2dCtx.__new__(GlobalAvgPool2dCtx)
    ctx.input_shape = (n, c, h, w)
    ctx.dtype = xa.dtype
    ctx.t = t
    return y, ctx


def global_avg_pool2d_backward(dy, GlobalAvgPool2dCtx ctx not None):
    """Gradient of global_avg_pool2d_forward: dy (N, C, 1, 1) -> dx (N, C, H, W) = dy / (H*W)."""
    cdef int t = ctx.t
    cdef int64_t n = ctx.input_shape[0], c = ctx.input_shape[1], h = ctx.input_shape[2], w = ctx.input_shape[3]
    cdef cnp.ndarray dya = check_dy(dy, t, n, c, 1, 1)
    cdef cnp.ndarray dx = out4(n, c, h, w, t)
    with nogil:
        global_avg_pool_bwd(t, cnp.PyArray_DATA(dx), cnp.PyArray_DATA(dya), n * c, h * w)
    return dx
