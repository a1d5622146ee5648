"""numpy twin of fastnn._softmax: softmax / log-softmax over any axis of any shape."""
import operator

import numpy as np

from ._checks import float_array, same_dtype, check_out, store, check_ctx

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


class _RowsCtx:
    """y, the forward's output, and axis (normalised, >= 0): what both backwards read."""
    __slots__ = ("y", "axis")

    def __init__(self, y, axis):
        self.y, self.axis = y, axis

    def __repr__(self):
        return f"{type(self).__name__}(y={self.y.shape}, axis={self.axis})"


class SoftmaxCtx(_RowsCtx):
    """What softmax_backward needs: y, the forward's output, and axis (normalised, >= 0)."""
    __slots__ = ()


class LogSoftmaxCtx(_RowsCtx):
    """What log_softmax_backward needs: y, the forward's output (log-probabilities), and axis."""
    __slots__ = ()


def _axis(x, axis):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an int, got {type(axis).__name__}") from None
    lim = max(x.ndim, 1)          # a 0-d array has the one axis -1 / 0, as torch
    if axis < -lim or axis >= lim:
        raise ValueError(f"axis {axis} is out of range for x of shape {x.shape}")
    return axis + lim if axis < 0 else axis


def _shifted(x, axis):
    """x - max along axis (the max taken from the data, so it starts from the first element)."""
    x1 = x.reshape(x.shape or (1,))
    if x1.shape[axis] == 0:
        return x1.copy()
    with np.errstate(invalid="ignore"):            # inf - inf in rows holding +-inf: NaN, as torch
        return x1 - np.max(x1, axis=axis, keepdims=True)


def softmax_forward(x, axis=-1, *, out=None):
    """Softmax over ``axis`` (negative counts from the end): ``exp(x - max) / sum(exp(x - max))``.
    x: any shape, float32/float64. Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before softmax_backward gives wrong gradients.
    """
    float_array(x, "x")
    a = _axis(x, axis)
    check_out(out, x.shape, x.dtype, x=x)
    e = np.exp(_shifted(x, a))
    y = (e / e.sum(axis=a, keepdims=True, dtype=np.float64)).astype(x.dtype).reshape(x.shape)
    y = store(out, y)
    return y, SoftmaxCtx(y, a)


def log_softmax_forward(x, axis=-1, *, out=None):
    """Log-softmax over ``axis``: ``x - max - log(sum(exp(x - max)))``. Returns ``(y, ctx)``.

    out: as in softmax_forward (x's shape and dtype; ``y is out``). ctx.y is out: the backward
    reads it, so overwriting out before log_softmax_backward gives wrong gradients.
    """
    float_array(x, "x")
    a = _axis(x, axis)
    check_out(out, x.shape, x.dtype, x=x)
    z = _shifted(x, a)
    with np.errstate(divide="ignore"):             # log(0) only for empty rows (no output)
        lse = np.log(np.exp(z).sum(axis=a, keepdims=True, dtype=np.float64))
    y = store(out, (z - lse).astype(x.dtype).reshape(x.shape))
    return y, LogSoftmaxCtx(y, a)


def _check(dy, ctx, cls, forward):
    check_ctx(ctx, cls, forward)
    same_dtype(ctx.y, dy, "dy", "x")
    if dy.shape != ctx.y.shape:
        raise ValueError(f"dy must have the forward output's shape {ctx.y.shape}, got {dy.shape}")


def softmax_backward(dy, ctx):
    """Gradient of softmax_forward: ``y * (dy - sum(dy * y, axis))``. Returns dx."""
    _check(dy, ctx, SoftmaxCtx, "softmax_forward")
    y, a = ctx.y.reshape(ctx.y.shape or (1,)), ctx.axis
    d = dy.reshape(y.shape)
    dot = np.sum(d * y, axis=a, keepdims=True, dtype=np.float64)
    return (y * (d - dot.astype(y.dtype))).reshape(ctx.y.shape)


def log_softmax_backward(dy, ctx):
    """Gradient of log_softmax_forward: ``dy - exp(y) * sum(dy, axis)``. Returns dx."""
    _check(dy, ctx, LogSoftmaxCtx, "log_softmax_forward")
    y, a = ctx.y.reshape(ctx.y.shape or (1,)), ctx.axis
    d = dy.reshape(y.shape)
    s = np.sum(d, axis=a, keepdims=True, dtype=np.float64).astype(y.dtype)
    return (d - np.exp(y) * s).reshape(ctx.y.shape)
