"""numpy twin of fastnn._conv: im2col / col2im (torch's unfold / fold) and 2-D convolution.

Straightforward on purpose: the image is zero-padded with np.pad, im2col copies one strided
slice per kernel offset (i, j), and the convolution is one batched matmul per group.
"""
import numpy as np

from ._checks import float_array, same_dtype, ndim, check_out, store, check_ctx, flag

__all__ = ["im2col", "col2im", "conv2d_forward", "conv2d_backward"]

CONV_ACTIVATIONS = (None, "relu")
SIZE_ARG_MAX = 2**31 - 1   # as the bindings (_common.pxd pair()): larger sizes would overflow int64


def _pair(v, name):
    """(h, w) from an int or a pair of ints (same rules and messages as the compiled binding)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        h, w = v
    else:
        h = w = v
    for e in (h, w):
        if isinstance(e, bool) or not isinstance(e, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    for e in (h, w):
        if not -SIZE_ARG_MAX <= e <= SIZE_ARG_MAX:
            raise ValueError(f"{name} = {v!r} is out of range: sizes must be below 2**31")
    return int(h), int(w)


def _check_stride_padding(s, p, stride, padding):
    """ValueError unless the pairs s (of the argument stride) > 0 and p (of padding) >= 0."""
    if s[0] <= 0 or s[1] <= 0:
        raise ValueError(f"stride must be positive, got {stride!r}")
    if p[0] < 0 or p[1] < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")


def _conv_sizes(h, w, kernel, stride, padding, dilation):
    """Checked ((kh, kw), (sh, sw), (ph, pw), (dh, dw), (h_out, w_out))."""
    (kh, kw), (sh, sw) = kernel, _pair(stride, "stride")
    (ph, pw), (dh, dw) = _pair(padding, "padding"), _pair(dilation, "dilation")
    if kh <= 0 or kw <= 0:
        raise ValueError(f"kernel size must be positive, got ({kh}, {kw})")
    _check_stride_padding((sh, sw), (ph, pw), stride, padding)
    if dh <= 0 or dw <= 0:
        raise ValueError(f"dilation must be positive, got {dilation!r}")
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + 2 * ph or ew > w + 2 * pw:
        raise ValueError(f"kernel ({kh}, {kw}) with dilation ({dh}, {dw}) spans ({eh}, {ew}), "
                         f"larger than the padded input ({h + 2 * ph}, {w + 2 * pw})")
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), ((h + 2 * ph - eh) // sh + 1, (w + 2 * pw - ew) // sw + 1)


def _unfold(x, k, s, p, d, out):
    """cols (N, C*kh*kw, ho*wo) of a checked x (N, C, H, W)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = k, s, p, d, out
    n, c = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh,
                                  j * dw: j * dw + sw * (wo - 1) + 1: sw]
    return cols.reshape(n, c * kh * kw, ho * wo)


def _fold(cols, c, h, w, k, s, p, d, out):
    """x (N, c, h, w) summing the entries of cols (N, c*kh*kw, ho*wo) back onto their pixels."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = k, s, p, d, out
    n = cols.shape[0]
    c6 = cols.reshape(n, c, kh, kw, ho, wo)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh: i * dh + sh * (ho - 1) + 1: sh,
               j * dw: j * dw + sw * (wo - 1) + 1: sw] += c6[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, ph: ph + h, pw: pw + w])


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """Unfold image patches into columns, exactly ``torch.nn.functional.unfold``.

    x (N, C, H, W) float32/float64; kernel_size, stride, padding, dilation an int or an (h, w)
    pair. Returns cols (N, C*kH*kW, H_out*W_out).

    out: None, or a preallocated (N, C*kH*kW, H_out*W_out) array of x's dtype, C-contiguous,
    aligned, writeable and not overlapping x; cols is written into it and ``cols is out``.
    """
    float_array(x, "x")
    ndim(x, 4, "x", "(N, C, H, W)")
    sizes = _conv_sizes(x.shape[2], x.shape[3], _pair(kernel_size, "kernel_size"), stride, padding, dilation)
    (kh, kw), (ho, wo) = sizes[0], sizes[4]
    check_out(out, (x.shape[0], x.shape[1] * kh * kw, ho * wo), x.dtype, x=x)
    return store(out, _unfold(x, *sizes))


def col2im(cols, input_size, kernel_size, stride=1, padding=0, dilation=1, *, out=None):
    """Fold columns back into images, ``torch.nn.functional.fold`` (overlaps summed).

    cols (N, C*kH*kW, L) with L = H_out*W_out; input_size (H, W). Returns x (N, C, H, W).

    out: None, or a preallocated (N, C, H, W) array of cols' dtype, C-contiguous, aligned,
    writeable and not overlapping cols; x is written into it (overwritten, not accumulated) and
    ``x is out``.
    """
    float_array(cols, "cols")
    ndim(cols, 3, "cols", "(N, C*kH*kW, L)")
    h, w = _pair(input_size, "input_size")
    if h <= 0 or w <= 0:
        raise ValueError(f"input_size must be positive, got {input_size!r}")
    sizes = _conv_sizes(h, w, _pair(kernel_size, "kernel_size"), stride, padding, dilation)
    (kh, kw), (ho, wo) = sizes[0], sizes[4]
    if cols.shape[1] % (kh * kw) != 0 or cols.shape[1] == 0:
        raise ValueError(f"cols {cols.shape}: dimension 1 must be a positive multiple of "
                         f"kH*kW = {kh * kw}")
    if cols.shape[2] != ho * wo:
        raise ValueError(f"cols {cols.shape}: dimension 2 must be H_out*W_out = "
                         f"{ho}*{wo} = {ho * wo} for input_size ({h}, {w})")
    c = cols.shape[1] // (kh * kw)
    check_out(out, (cols.shape[0], c, h, w), cols.dtype, cols=cols)
    return store(out, _fold(cols, c, h, w, *sizes))


class Conv2dCtx:
    """What conv2d_backward needs: x (N, C, H, W), weight (C_out, C/groups, kH, kW), y the
    forward's output (after the activation), has_bias, stride, padding, dilation ((h, w)
    pairs), groups and activation."""
    __slots__ = ("x", "weight", "y", "has_bias", "stride", "padding", "dilation", "groups",
                 "activation", "_sizes")

    def __repr__(self):
        return (f"Conv2dCtx(x={self.x.shape}, weight={self.weight.shape}, "
                f"has_bias={self.has_bias}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, groups={self.groups}, activation={self.activation!r})")


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None,
                   *, out=None):
    """2-D convolution (cross-correlation, as torch.nn.functional.conv2d), optional fused relu.

    x (N, C, H, W), weight (C_out, C/groups, kH, kW), bias (C_out,) or None, one float dtype;
    stride, padding, dilation an int or an (h, w) pair; activation None or "relu". Returns
    ``(y (N, C_out, H_out, W_out), ctx)``.

    out: None, or a preallocated (N, C_out, H_out, W_out) array of x's dtype, C-contiguous,
    aligned, writeable and not overlapping x, weight or bias; y is written into it and
    ``y is out``. ctx.y is out: the backward reads it (with activation="relu"), so overwriting
    out before conv2d_backward gives wrong gradients.
    """
    float_array(x, "x")
    same_dtype(x, weight, "weight", "x")
    if activation is not None and not isinstance(activation, str):
        raise TypeError(f"activation must be None or a str in {CONV_ACTIVATIONS}, got "
                        f"{type(activation).__name__}")
    if activation not in CONV_ACTIVATIONS:
        raise ValueError(f"activation must be one of {CONV_ACTIVATIONS}, got {activation!r}")
    ndim(x, 4, "x", "(N, C, H, W)")
    ndim(weight, 4, "weight", "(C_out, C_in/groups, kH, kW)")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    if groups <= 0:
        raise ValueError(f"groups must be positive, got {groups}")
    if c <= 0 or h <= 0 or w <= 0:
        raise ValueError(f"x {x.shape}: channels, height and width must be positive")
    if c_out <= 0:
        raise ValueError(f"weight {weight.shape}: C_out must be positive")
    if c % groups != 0 or c_out % groups != 0:
        raise ValueError(f"groups = {groups} must divide both the input channels ({c}) and "
                         f"the output channels ({c_out})")
    if weight.shape[1] != c // groups:
        raise ValueError(f"weight {weight.shape} does not match x {x.shape} with groups = "
                         f"{groups}: weight must be (C_out, {c // groups}, kH, kW)")
    sizes = _conv_sizes(h, w, (kh, kw), stride, padding, dilation)
    if bias is not None:
        same_dtype(x, bias, "bias", "x")
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},) to match weight {weight.shape}, "
                             f"got {bias.shape}")
    ho, wo = sizes[4]
    check_out(out, (n, c_out, ho, wo), x.dtype, x=x, weight=weight, bias=bias)
    cols = _unfold(x, *sizes)                              # (N, K, P)
    kg, cog = cols.shape[1] // groups, c_out // groups
    w2 = weight.reshape(c_out, kg)
    y = np.empty((n, c_out, ho * wo), dtype=x.dtype)
    for g in range(groups):
        y[:, g * cog:(g + 1) * cog] = w2[g * cog:(g + 1) * cog] @ cols[:, g * kg:(g + 1) * kg]
    if bias is not None:
        y += bias[:, None]
    if activation == "relu":
        np.maximum(y, 0, out=y)
    y = store(out, y.reshape(n, c_out, ho, wo))
    ctx = Conv2dCtx()
    ctx.x, ctx.weight, ctx.y, ctx.has_bias = x, weight, y, bias is not None
    ctx.stride, ctx.padding, ctx.dilation = sizes[1], sizes[2], sizes[3]
    ctx.groups, ctx.activation, ctx._sizes = int(groups), activation, sizes
    return y, ctx


def conv2d_backward(dy, ctx, input_grad=True):
    """Gradients of conv2d_forward: dy (N, C_out, H_out, W_out) -> ``(dx, dweight, dbias)``
    (dbias None without a bias; accumulated in double; dx None when ``input_grad`` is False)."""
    input_grad = flag(input_grad, "input_grad")
    check_ctx(ctx, Conv2dCtx, "conv2d_forward")
    same_dtype(ctx.x, dy, "dy", "x")
    if dy.shape != ctx.y.shape:
        raise ValueError(f"dy must have the forward output's shape {ctx.y.shape}, got {dy.shape}")
    x, weight, groups = ctx.x, ctx.weight, ctx.groups
    n, c, h, w = x.shape
    c_out = weight.shape[0]
    dz = dy * (ctx.y > 0) if ctx.activation == "relu" else dy
    dz = dz.reshape(n, c_out, dy.shape[2] * dy.shape[3])
    cols = _unfold(x, *ctx._sizes)
    kg, cog = cols.shape[1] // groups, c_out // groups
    w2 = weight.reshape(c_out, kg)
    dw = np.empty((c_out, kg), dtype=x.dtype)
    dcols = np.empty_like(cols) if input_grad else None
    for g in range(groups):
        dzg, colg = dz[:, g * cog:(g + 1) * cog], cols[:, g * kg:(g + 1) * kg]
        dw[g * cog:(g + 1) * cog] = np.tensordot(dzg, colg, axes=([0, 2], [0, 2]))
        if input_grad:
            dcols[:, g * kg:(g + 1) * kg] = w2[g * cog:(g + 1) * cog].T @ dzg
    dx = _fold(dcols, c, h, w, *ctx._sizes) if input_grad else None
    db = dz.sum(axis=(0, 2), dtype=np.float64).astype(dy.dtype) if ctx.has_bias else None
    return dx, dw.reshape(weight.shape), db
