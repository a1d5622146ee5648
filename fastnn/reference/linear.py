"""numpy twin of fastnn._linear: fully connected layer with a fused activation."""
import numpy as np

from ._checks import float_array, same_dtype, ndim, check_out, store, check_ctx, flag, activation_arg

__all__ = ["linear_forward", "linear_backward"]

LINEAR_ACTIVATIONS = (None, "relu", "sigmoid", "tanh")


class LinearCtx:
    """What linear_backward needs: x (N, in), weight (out, in), y (N, out) after the activation,
    has_bias and activation."""
    __slots__ = ("x", "weight", "y", "has_bias", "activation")

    def __init__(self, x, weight, y, has_bias, activation):
        self.x, self.weight, self.y, self.has_bias, self.activation = x, weight, y, has_bias, activation

    def __repr__(self):
        return (f"LinearCtx(x={self.x.shape}, weight={self.weight.shape}, "
                f"has_bias={self.has_bias}, activation={self.activation!r})")


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1 + e)
    return out


def linear_forward(x, weight, bias=None, activation=None, *, out=None):
    """Fully connected layer: ``y = act(x @ weight.T + bias)``.

    x (N, in), weight (out, in), bias (out,) or None; activation None, "relu", "sigmoid" or
    "tanh". Returns ``(y, ctx)`` with y (N, out).

    out: None, or a preallocated (N, out) array of x's dtype, C-contiguous, aligned, writeable
    and not overlapping x, weight or bias; y is written into it and ``y is out``. ctx.y is
    out: the backward reads it, so overwriting out before linear_backward gives wrong gradients.
    """
    float_array(x, "x")
    same_dtype(x, weight, "weight", "x")
    activation_arg(activation, LINEAR_ACTIVATIONS)
    ndim(x, 2, "x", "(N, in_features)")
    ndim(weight, 2, "weight", "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight {weight.shape} does not match x {x.shape}: "
                         f"weight must be (out_features, {x.shape[1]})")
    if bias is not None:
        same_dtype(x, bias, "bias", "x")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},) to match weight "
                             f"{weight.shape}, got {bias.shape}")
    check_out(out, (x.shape[0], weight.shape[0]), x.dtype, x=x, weight=weight, bias=bias)
    z = x @ weight.T
    if bias is not None:
        z += bias
    if activation == "relu":
        y = np.maximum(z, 0)
    elif activation == "sigmoid":
        y = _sigmoid(z)
    elif activation == "tanh":
        y = np.tanh(z)
    else:
        y = z
    y = store(out, y)
    return y, LinearCtx(x, weight, y, bias is not None, activation)


def linear_backward(dy, ctx, input_grad=True):
    """Gradients of linear_forward: dy (N, out) -> ``(dx, dweight, dbias)`` (dbias None without
    a bias; dx None when ``input_grad`` is False)."""
    check_ctx(ctx, LinearCtx, "linear_forward")
    same_dtype(ctx.x, dy, "dy", "x")
    if dy.shape != ctx.y.shape:
        raise ValueError(f"dy must have the forward output's shape {ctx.y.shape}, got {dy.shape}")
    y = ctx.y
    if ctx.activation == "relu":
        dz = dy * (y > 0)
    elif ctx.activation == "sigmoid":
        dz = dy * y * (1 - y)
    elif ctx.activation == "tanh":
        dz = dy * (1 - y * y)
    else:
        dz = dy
    dx = dz @ ctx.weight if flag(input_grad, "input_grad") else None
    dw = dz.T @ ctx.x
    db = dz.sum(axis=0, dtype=np.float64).astype(dy.dtype) if ctx.has_bias else None
    return dx, dw, db
