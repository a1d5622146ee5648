"""numpy twin of fastnn._pool: max pooling with argmax, average and global average pooling.

Windows come from numpy's sliding_window_view over a padded copy (-inf for max, 0 for average);
backward passes use np.add.at (max) or one strided slice per kernel offset (average).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import float_array, same_dtype, ndim, check_out, store, check_ctx, flag
from .conv import _pair, _check_stride_padding

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
           "global_avg_pool2d_forward", "global_avg_pool2d_backward"]


def _setup(x, kernel_size, stride, padding, ceil_mode):
    """Checked ((kh, kw), (sh, sw), (ph, pw), (h_out, w_out)); same messages as the binding."""
    float_array(x, "x")
    ndim(x, 4, "x", "(N, C, H, W)")
    n, c, h, w = x.shape
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(kernel_size if stride is None else stride, "stride")
    ph, pw = _pair(padding, "padding")
    if kh <= 0 or kw <= 0:
        raise ValueError(f"kernel_size must be positive, got {kernel_size!r}")
    _check_stride_padding((sh, sw), (ph, pw), stride, padding)
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"padding ({ph}, {pw}) must be at most half the kernel size ({kh}, {kw})")
    if h <= 0 or w <= 0:
        raise ValueError(f"x {x.shape}: height and width must be positive")
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"kernel ({kh}, {kw}) is larger than the padded input ({h + 2 * ph}, {w + 2 * pw})")
    if h * w > 2**31 - 1:
        raise ValueError(f"x {x.shape}: planes of more than 2**31 - 1 pixels are not supported")
    ceil = flag(ceil_mode, "ceil_mode")
    return (kh, kw), (sh, sw), (ph, pw), (_out_size(h, kh, sh, ph, ceil), _out_size(w, kw, sw, pw, ceil))


def _out_size(n, k, s, p, ceil):
    """floor((n + 2p - k) / s) + 1, or with ceil_mode the ceiling, less one when that last
    window would start past n + p (PyTorch's rule)."""
    out = (n + 2 * p - k + (s - 1 if ceil else 0)) // s + 1
    return out - 1 if ceil and (out - 1) * s >= n + p else out


def _pad(x, k, s, p, out, value=0):
    """x padded by p on every side, and at the bottom / right by what ceil_mode's last window
    hangs past that (with `value`)."""
    eh = max(0, (out[0] - 1) * s[0] + k[0] - (x.shape[2] + 2 * p[0]))
    ew = max(0, (out[1] - 1) * s[1] + k[1] - (x.shape[3] + 2 * p[1]))
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0] + eh), (p[1], p[1] + ew)), constant_values=value)


def _windows(xp, k, s, out):
    """(N, C, ho, wo, kh, kw) view of the windows of a padded xp."""
    v = sliding_window_view(xp, k, axis=(2, 3))[:, :, ::s[0], ::s[1]]
    return v[:, :, :out[0], :out[1]]


def _check_dy(dy, ctx, shape):
    same_dtype(np.empty(0, ctx.dtype), dy, "dy", "x")
    if dy.shape != shape:
        raise ValueError(f"dy must have the forward output's shape {shape}, got {dy.shape}")


class MaxPool2dCtx:
    """What max_pool2d_backward needs: input_shape (N, C, H, W), indices (N, C, H_out, W_out)
    int32 (flat index ih*W + iw of each window's maximum in its plane), kernel_size, stride,
    padding ((h, w) pairs) and the dtype."""
    __slots__ = ("input_shape", "indices", "kernel_size", "stride", "padding", "dtype")

    def __repr__(self):
        return (f"MaxPool2dCtx(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, *, out=None):
    """2-D max pooling with argmax: x (N, C, H, W) -> ``(y (N, C, H_out, W_out), ctx)``.

    Ties go to the first maximum in row-major window order, a NaN wins (the last NaN), and a
    window whose real pixels are all -inf points at its first real pixel: PyTorch's rules.

    out: None, or a preallocated (N, C, H_out, W_out) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out``. The backward does not
    read y, so out may be reused once the forward has returned.
    """
    k, s, p, size = _setup(x, kernel_size, stride, padding, ceil_mode)
    n, c, h, w = x.shape
    check_out(out, (n, c) + size, x.dtype, x=x)
    win = _windows(_pad(x, k, s, p, size, -np.inf), k, s, size).reshape(n, c, *size, k[0] * k[1])
    real = _windows(_pad(np.ones((1, 1, h, w), bool), k, s, p, size), k, s, size).reshape(1, 1, *size, k[0] * k[1])
    kk = win.shape[-1]
    pos = np.argmax(win, axis=-1)                            # first maximum (first NaN)
    isnan = np.isnan(win)
    last_nan = kk - 1 - np.argmax(isnan[..., ::-1], axis=-1)
    pos = np.where(isnan.any(axis=-1), last_nan, pos)
    y = np.take_along_axis(win, pos[..., None], axis=-1)[..., 0]
    pos = np.where(y == -np.inf, np.argmax(real, axis=-1), pos)   # all -inf: first real pixel
    oh = np.arange(size[0])[:, None]
    ow = np.arange(size[1])[None, :]
    ih = oh * s[0] - p[0] + pos // k[1]
    iw = ow * s[1] - p[1] + pos % k[1]
    ctx = MaxPool2dCtx()
    ctx.input_shape, ctx.indices = x.shape, (ih * w + iw).astype(np.int32)
    ctx.kernel_size, ctx.stride, ctx.padding, ctx.dtype = k, s, p, x.dtype
    return store(out, np.ascontiguousarray(y)), ctx


def max_pool2d_backward(dy, ctx):
    """Gradient of max_pool2d_forward: dy routed to each window's argmax (overlaps summed)."""
    n, c, h, w = check_ctx(ctx, MaxPool2dCtx, "max_pool2d_forward").input_shape
    _check_dy(dy, ctx, (n, c) + ctx.indices.shape[2:])
    dx = np.zeros((n * c, h * w), dtype=dy.dtype)
    rows = np.arange(n * c)[:, None]
    p = ctx.indices.shape[2] * ctx.indices.shape[3]
    np.add.at(dx, (rows, ctx.indices.reshape(n * c, p)), dy.reshape(n * c, p))
    return dx.reshape(n, c, h, w)


class AvgPool2dCtx:
    """What avg_pool2d_backward needs: input_shape, output_size (H_out, W_out), kernel_size,
    stride, padding, count_include_pad and the dtype."""
    __slots__ = ("input_shape", "output_size", "kernel_size", "stride", "padding", "count_include_pad",
                 "dtype")

    def __repr__(self):
        return (f"AvgPool2dCtx(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad})")


def _divisor(h, w, k, s, p, out, count_include_pad, dtype):
    """Pixels each window averages over: with count_include_pad those of the padded input
    (kH*kW, less what a ceil_mode window hangs past it), else the real ones."""
    if count_include_pad:
        ones = _pad(np.ones((1, 1, h + 2 * p[0], w + 2 * p[1]), dtype), k, s, (0, 0), out)
        ones = ones[:, :, :(out[0] - 1) * s[0] + k[0], :(out[1] - 1) * s[1] + k[1]]
    else:
        ones = _pad(np.ones((1, 1, h, w), dtype), k, s, p, out)
    return _windows(ones, k, s, out).sum(axis=(-1, -2))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True, ceil_mode=False,
                       *, out=None):
    """2-D average pooling: x (N, C, H, W) -> ``(y (N, C, H_out, W_out), ctx)``; the divisor is
    kH*kW when count_include_pad, else the number of real pixels in the window.

    out: None, or a preallocated (N, C, H_out, W_out) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out``. The backward does not
    read y, so out may be reused once the forward has returned.
    """
    count_include_pad = flag(count_include_pad, "count_include_pad")
    k, s, p, size = _setup(x, kernel_size, stride, padding, ceil_mode)
    n, c, h, w = x.shape
    check_out(out, (n, c) + size, x.dtype, x=x)
    y = _windows(_pad(x, k, s, p, size), k, s, size).sum(axis=(-1, -2)) / _divisor(h, w, k, s, p, size, count_include_pad, x.dtype)
    ctx = AvgPool2dCtx()
    ctx.input_shape, ctx.kernel_size, ctx.stride, ctx.padding = x.shape, k, s, p
    ctx.output_size, ctx.count_include_pad, ctx.dtype = size, count_include_pad, x.dtype
    return store(out, y.astype(x.dtype, copy=False)), ctx


def avg_pool2d_backward(dy, ctx):
    """Gradient of avg_pool2d_forward: each dy spread evenly over its window."""
    n, c, h, w = check_ctx(ctx, AvgPool2dCtx, "avg_pool2d_forward").input_shape
    (kh, kw), (sh, sw), (ph, pw) = ctx.kernel_size, ctx.stride, ctx.padding
    ho, wo = ctx.output_size
    _check_dy(dy, ctx, (n, c, ho, wo))
    g = dy / _divisor(h, w, ctx.kernel_size, ctx.stride, ctx.padding, (ho, wo), ctx.count_include_pad, dy.dtype)
    dxp = np.zeros((n, c, max(h + 2 * ph, (ho - 1) * sh + kh), max(w + 2 * pw, (wo - 1) * sw + kw)),
                   dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i: i + sh * (ho - 1) + 1: sh, j: j + sw * (wo - 1) + 1: sw] += g
    return np.ascontiguousarray(dxp[:, :, ph: ph + h, pw: pw + w])


class GlobalAvgPool2dCtx:
    """What global_avg_pool2d_backward needs: input_shape (N, C, H, W) and the dtype."""
    __slots__ = ("input_shape", "dtype")

    def __repr__(self):
        return f"GlobalAvgPool2dCtx(input_shape={self.input_shape})"


def global_avg_pool2d_forward(x, *, out=None):
    """Mean over each (H, W) plane in double: x (N, C, H, W) -> ``(y (N, C, 1, 1), ctx)``.

    out: None, or a preallocated (N, C, 1, 1) array of x's dtype, C-contiguous, aligned,
    writeable and not overlapping x; y is written into it and ``y is out`` (the backward does
    not read it)."""
    float_array(x, "x")
    ndim(x, 4, "x", "(N, C, H, W)")
    if x.shape[2] <= 0 or x.shape[3] <= 0:
        raise ValueError(f"x {x.shape}: height and width must be positive")
    check_out(out, x.shape[:2] + (1, 1), x.dtype, x=x)
    ctx = GlobalAvgPool2dCtx()
    ctx.input_shape, ctx.dtype = x.shape, x.dtype
    return store(out, x.mean(axis=(2, 3), dtype=np.float64, keepdims=True).astype(x.dtype)), ctx


def global_avg_pool2d_backward(dy, ctx):
    """Gradient of global_avg_pool2d_forward: dx (N, C, H, W) = dy / (H*W)."""
    n, c, h, w = check_ctx(ctx, GlobalAvgPool2dCtx, "global_avg_pool2d_forward").input_shape
    _check_dy(dy, ctx, (n, c, 1, 1))
    return np.broadcast_to(dy / dy.dtype.type(h * w), (n, c, h, w)).copy()
