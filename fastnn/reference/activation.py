"""numpy twin of fastnn._activation: elementwise activations, any shape, float32/float64.

Conventions follow PyTorch: relu'(0) = 0, leaky_relu'(0) = negative_slope, sign' = 0; a NaN in x
gives NaN in y (sign included: numpy's convention; torch.sign(nan) is 0)."""
import math

import numpy as np

from ._checks import float_array, same_dtype, check_out, store, real

__all__ = ["relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
           "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
           "sign_forward", "sign_backward", "gelu_forward", "gelu_backward"]


class _Ctx:
    __slots__ = ()

    def __repr__(self):
        slots = [k for c in reversed(type(self).__mro__) for k in c.__dict__.get("__slots__", ())]
        fields = ", ".join(f"{k}={getattr(self, k).shape if isinstance(getattr(self, k), np.ndarray) else getattr(self, k)!r}"
                           for k in slots)
        return f"{type(self).__name__}({fields})"


class _OutputCtx(_Ctx):
    """A ctx that keeps y, the forward's output."""
    __slots__ = ("y",)

    def __init__(self, y):
        self.y = y


class ReluCtx(_OutputCtx):
    """What relu_backward needs: y, the forward's output."""
    __slots__ = ()


class LeakyReluCtx(_Ctx):
    """What leaky_relu_backward needs: x, the forward's input, and negative_slope."""
    __slots__ = ("x", "negative_slope")

    def __init__(self, x, negative_slope):
        self.x, self.negative_slope = x, negative_slope


class SigmoidCtx(_OutputCtx):
    """What sigmoid_backward needs: y, the forward's output."""
    __slots__ = ()


class TanhCtx(_OutputCtx):
    """What tanh_backward needs: y, the forward's output."""
    __slots__ = ()


class SignCtx(_OutputCtx):
    """What sign_backward needs: y, the forward's output (only its shape and dtype)."""
    __slots__ = ()


class GeluCtx(_Ctx):
    """What gelu_backward needs: x, the forward's input."""
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x


def _ctx(ctx, cls, forward):
    if not isinstance(ctx, cls):
        raise TypeError(f"ctx must be the {cls.__name__} returned by {forward}, got {type(ctx).__name__}")
    return ctx


def _grad(dy, saved):
    same_dtype(saved, dy, "dy", "x")
    if dy.shape != saved.shape:
        raise ValueError(f"dy must have the forward output's shape {saved.shape}, got {dy.shape}")
    return dy


def _forward_keeping_y(x, out, f, ctx_class):
    """(y, ctx_class(y)) of an activation whose backward reads its output: y = f(x), stored into
    out (checked first) or a new array."""
    float_array(x, "x")
    check_out(out, x.shape, x.dtype, x=x)
    y = store(out, np.asarray(f(x)))
    return y, ctx_class(y)


def _relu(x):
    y = x.copy()
    y[x < 0] = 0          # NaN and -0 stay
    return y


def relu_forward(x, *, out=None):
    """ReLU: ``y = max(x, 0)`` elementwise (NaN stays NaN). x: any shape, float32/float64.
    Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before relu_backward gives wrong gradients.
    """
    return _forward_keeping_y(x, out, _relu, ReluCtx)


def relu_backward(dy, ctx):
    """Gradient of relu_forward: dy where y > 0 (or y is NaN), else 0. Returns dx."""
    y = _ctx(ctx, ReluCtx, "relu_forward").y
    _grad(dy, y)
    return np.asarray(np.where(y <= 0, dy.dtype.type(0), dy))


def _slope(negative_slope):
    return real(negative_slope, "negative_slope")


def leaky_relu_forward(x, negative_slope=0.01, *, out=None):
    """Leaky ReLU: ``y = x if x > 0 else negative_slope * x``. x: any shape, float32/float64.
    Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    float_array(x, "x")
    slope = _slope(negative_slope)
    check_out(out, x.shape, x.dtype, x=x)
    y = store(out, np.asarray(np.where(x > 0, x, x * slope)))
    return y, LeakyReluCtx(x, slope)


def leaky_relu_backward(dy, ctx):
    """Gradient of leaky_relu_forward: dy where x > 0, else negative_slope * dy. Returns dx."""
    ctx = _ctx(ctx, LeakyReluCtx, "leaky_relu_forward")
    _grad(dy, ctx.x)
    return np.asarray(np.where(ctx.x > 0, dy, dy * ctx.negative_slope))


def _sigmoid(x):
    e = np.exp(-np.abs(x))          # only exp(-|x|): no overflow
    s = 1 / (1 + e)
    return np.where(x >= 0, s, e * s)


def sigmoid_forward(x, *, out=None):
    """Logistic sigmoid, stable for any x (only exp(-|x|) is formed). Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before sigmoid_backward gives wrong gradients.
    """
    return _forward_keeping_y(x, out, _sigmoid, SigmoidCtx)


def sigmoid_backward(dy, ctx):
    """Gradient of sigmoid_forward: ``dy * y * (1 - y)``. Returns dx."""
    y = _ctx(ctx, SigmoidCtx, "sigmoid_forward").y
    _grad(dy, y)
    return np.asarray(dy * (y * (1 - y)))


def tanh_forward(x, *, out=None):
    """Hyperbolic tangent, elementwise. Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``. ctx.y is out: the backward
    reads it, so overwriting out before tanh_backward gives wrong gradients.
    """
    return _forward_keeping_y(x, out, np.tanh, TanhCtx)


def tanh_backward(dy, ctx):
    """Gradient of tanh_forward: ``dy * (1 - y**2)``. Returns dx."""
    y = _ctx(ctx, TanhCtx, "tanh_forward").y
    _grad(dy, y)
    return np.asarray(dy * (1 - y * y))


def sign_forward(x, *, out=None):
    """Sign: -1, 0 or 1 elementwise; NaN stays NaN. Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    return _forward_keeping_y(x, out, np.sign, SignCtx)


def sign_backward(dy, ctx):
    """Gradient of sign_forward: zeros of y's shape and dtype."""
    y = _ctx(ctx, SignCtx, "sign_forward").y
    _grad(dy, y)
    return np.zeros(y.shape, y.dtype)


_erf = np.frompyfunc(math.erf, 1, 1)   # numpy has no erf; math.erf is correctly rounded to ~1 ulp


def _normal_cdf(x64):
    return 0.5 * (1 + np.asarray(_erf(x64 * math.sqrt(0.5)), dtype=np.float64))


def gelu_forward(x, *, out=None):
    """GELU, exact form ``0.5 * x * (1 + erf(x / sqrt(2)))`` (computed in float64, rounded to x's
    dtype). Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it and ``y is out``.
    """
    float_array(x, "x")
    check_out(out, x.shape, x.dtype, x=x)
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):           # gelu(-inf) = -inf * 0 = NaN, as in C
        y = store(out, np.asarray(x64 * _normal_cdf(x64)).astype(x.dtype))
    return y, GeluCtx(x)


def gelu_backward(dy, ctx):
    """Gradient of gelu_forward: ``dy * (Phi(x) + x * phi(x))``. Returns dx."""
    x = _ctx(ctx, GeluCtx, "gelu_forward").x
    _grad(dy, x)
    x64 = x.astype(np.float64)
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    return np.asarray(dy * (_normal_cdf(x64) + x64 * pdf)).astype(x.dtype)
