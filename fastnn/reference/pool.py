"""numpy twin of fastnn._pool: max pooling with argmax, average and global average pooling.

Windows come from numpy's sliding_window_view over a padded copy (-inf for max, 0 for average);
backward passes use np.add.at (max) or one strided slice per kernel offset (average).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import float_array, same_dtype, ndim, check_ctx
from .conv import _pair

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
    if ceil_mode:
        raise ValueError("ceil_mode=True is not supported (output sizes are floor((H + 2p - k) / s) + 1)")
    if kh <= 0 or kw <= 0:
        raise ValueError(f"kernel_size must be positive, got {kernel_size!r}")
    if sh <= 0 or sw <= 0:
        raise ValueError(f"stride must be positive, got {stride!r}")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"padding ({ph}, {pw}) must be at most half the kernel size ({kh}, {kw})")
    if h <= 0 or w <= 0:
        raise ValueError(f"x {x.shape}: height and width must be positive")
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(f"kernel ({kh}, {kw}) is larger than the padded input ({h + 2 * ph}, {w + 2 * pw})")
    if h * w > 2**31 - 1:
        raise ValueError(f"x {x.shape}: planes of more than 2**31 - 1 pixels are not supported")
    return (kh, kw), (sh, sw), (ph, pw), ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)


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


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """2-D max pooling with argmax: x (N, C, H, W) -> ``(y (N, C, H_out, W_out), ctx)``.

    Ties go to the first maximum in row-major window order, a NaN wins (the last NaN), and a
    window whose real pixels are all -inf points at its first real pixel: PyTorch's rules.
    """
    k, s, p, out = _setup(x, kernel_size, stride, padding, ceil_mode)
    n, c, h, w = x.shape
    pad = ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1]))
    win = _windows(np.pad(x, pad, constant_values=-np.inf), k, s, out).reshape(n, c, *out, k[0] * k[1])
    real = _windows(np.pad(np.ones((1, 1, h, w), bool), pad), k, s, out).reshape(1, 1, *out, k[0] * k[1])
    kk = win.shape[-1]
    pos = np.argmax(win, axis=-1)                            # first maximum (first NaN)
    isnan = np.isnan(win)
    last_nan = kk - 1 - np.argmax(isnan[..., ::-1], axis=-1)
    pos = np.where(isnan.any(axis=-1), last_nan, pos)
    y = np.take_along_axis(win, pos[..., None], axis=-1)[..., 0]
    pos = np.where(y == -np.inf, np.argmax(real, axis=-1), pos)   # all -inf: first real pixel
    oh = np.arange(out[0])[:, None]
    ow = np.arange(out[1])[None, :]
    ih = oh * s[0] - p[0] + pos // k[1]
    iw = ow * s[1] - p[1] + pos % k[1]
    ctx = MaxPool2dCtx()
    ctx.input_shape, ctx.indices = x.shape, (ih * w + iw).astype(np.int32)
    ctx.kernel_size, ctx.stride, ctx.padding, ctx.dtype = k, s, p, x.dtype
    return np.ascontiguousarray(y), ctx


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
    """What avg_pool2d_backward needs: input_shape, kernel_size, stride, padding,
    count_include_pad and the dtype."""
    __slots__ = ("input_shape", "kernel_size", "stride", "padding", "count_include_pad", "dtype")

    def __repr__(self):
        return (f"AvgPool2dCtx(input_shape={self.input_shape}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"count_include_pad={self.count_include_pad})")


def _divisor(h, w, k, s, p, out, count_include_pad, dtype):
    if count_include_pad:
        return dtype.type(k[0] * k[1])
    ones = np.pad(np.ones((1, 1, h, w), dtype), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    return _windows(ones, k, s, out).sum(axis=(-1, -2))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, count_include_pad=True, ceil_mode=False):
    """2-D average pooling: x (N, C, H, W) -> ``(y (N, C, H_out, W_out), ctx)``; the divisor is
    kH*kW when count_include_pad, else the number of real pixels in the window."""
    k, s, p, out = _setup(x, kernel_size, stride, padding, ceil_mode)
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    y = _windows(xp, k, s, out).sum(axis=(-1, -2)) / _divisor(h, w, k, s, p, out, count_include_pad, x.dtype)
    ctx = AvgPool2dCtx()
    ctx.input_shape, ctx.kernel_size, ctx.stride, ctx.padding = x.shape, k, s, p
    ctx.count_include_pad, ctx.dtype = bool(count_include_pad), x.dtype
    return y.astype(x.dtype, copy=False), ctx


def avg_pool2d_backward(dy, ctx):
    """Gradient of avg_pool2d_forward: each dy spread evenly over its window."""
    n, c, h, w = check_ctx(ctx, AvgPool2dCtx, "avg_pool2d_forward").input_shape
    (kh, kw), (sh, sw), (ph, pw) = ctx.kernel_size, ctx.stride, ctx.padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    _check_dy(dy, ctx, (n, c, ho, wo))
    g = dy / _divisor(h, w, ctx.kernel_size, ctx.stride, ctx.padding, (ho, wo), ctx.count_include_pad, dy.dtype)
    dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i: i + sh * (ho - 1) + 1: sh, j: j + sw * (wo - 1) + 1: sw] += g
    return np.ascontiguousarray(dxp[:, :, ph: ph + h, pw: pw + w])


class GlobalAvgPool2dCtx:
    """What global_avg_pool2d_backward needs: input_shape (N, C, H, W) and the dtype."""
    __slots__ = ("input_shape", "dtype")

    def __repr__(self):
        return f"GlobalAvgPool2dCtx(input_shape={self.input_shape})"


def global_avg_pool2d_forward(x):
    """Mean over each (H, W) plane in double: x (N, C, H, W) -> ``(y (N, C, 1, 1), ctx)``."""
    float_array(x, "x")
    ndim(x, 4, "x", "(N, C, H, W)")
    if x.shape[2] <= 0 or x.shape[3] <= 0:
        raise ValueError(f"x {x.shape}: height and width must be positive")
    ctx = GlobalAvgPool2dCtx()
    ctx.input_shape, ctx.dtype = x.shape, x.dtype
    return x.mean(axis=(2, 3), dtype=np.float64, keepdims=True).astype(x.dtype), ctx


def global_avg_pool2d_backward(dy, ctx):
    """Gradient of global_avg_pool2d_forward: dx (N, C, H, W) = dy / (H*W)."""
    n, c, h, w = check_ctx(ctx, GlobalAvgPool2dCtx, "global_avg_pool2d_forward").input_shape
    _check_dy(dy, ctx, (n, c, 1, 1))
    return np.broadcast_to(dy / dy.dtype.type(h * w), (n, c, h, w)).copy()
