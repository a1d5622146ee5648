"""numpy twin of fastnn._norm: batch norm and layer norm, forward and backward.

Everything is computed in float64 and rounded to the input's dtype at the end; the statistics
handed to backward (mean, 1/sqrt(var + eps)) stay float64, as in the compiled kernels.
"""
import math
import operator

import numpy as np

from ._checks import float_array, same_dtype, check_out, store, check_ctx, real, flag

__all__ = ["batch_norm_forward", "batch_norm_backward", "layer_norm_forward", "layer_norm_backward"]


def _eps(eps):
    try:
        e = real(eps, "eps")
    except (TypeError, ValueError):
        raise TypeError(f"eps must be a float, got {type(eps).__name__}") from None
    if not (math.isfinite(e) and e >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return e


def _same_type(x, a, name):
    """same_dtype, but byte order aside (the compiled side compares type numbers and copies a
    byte-swapped array)."""
    float_array(a, name)
    if a.dtype.type is not x.dtype.type:
        same_dtype(x, a, name, "x")


def _channel_param(a, x, name, c):
    if a is None:
        return None
    _same_type(x, a, name)
    if a.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) to match the channels of x {x.shape}, "
                         f"got {a.shape}")
    return a


def _running_buffer(a, x, name, c):
    _same_type(x, a, name)
    if a.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},) to match the channels of x {x.shape}, "
                         f"got {a.shape}")
    f = a.flags
    if not (f.c_contiguous and f.writeable and f.aligned and a.dtype.isnative):
        raise ValueError(f"{name} must be a C-contiguous, writable, aligned, native-byte-order "
                         f"array: it is updated in place")
    return a


def _momentum(momentum, train, tracked, num_batches_tracked):
    if momentum is None:
        if not (train and tracked):
            return 0.0
        if num_batches_tracked is None:
            raise ValueError("momentum=None (cumulative moving average) needs "
                             "num_batches_tracked, the number of batches including this one")
        if isinstance(num_batches_tracked, bool):
            raise TypeError("num_batches_tracked must be an int, got bool")
        try:
            nbt = operator.index(num_batches_tracked)
        except TypeError:
            raise TypeError(f"num_batches_tracked must be an int, got "
                            f"{type(num_batches_tracked).__name__}") from None
        if nbt < 1:
            raise ValueError(f"num_batches_tracked must be >= 1 (it counts this batch), got {nbt}")
        return 1.0 / nbt
    try:
        mom = real(momentum, "momentum")
    except (TypeError, ValueError):
        raise TypeError(f"momentum must be a float or None, got {type(momentum).__name__}") from None
    if not (0 <= mom <= 1):
        raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
    return mom


class BatchNormCtx:
    """What batch_norm_backward needs: x (N, C, *), gamma (C,) or None, mean and invstd (C,)
    float64 (the statistics the forward normalised with), has_beta, batch_stats."""
    __slots__ = ("x", "gamma", "mean", "invstd", "has_beta", "batch_stats")

    def __init__(self, x, gamma, mean, invstd, has_beta, batch_stats):
        self.x, self.gamma, self.mean, self.invstd = x, gamma, mean, invstd
        self.has_beta, self.batch_stats = has_beta, batch_stats

    def __repr__(self):
        return (f"BatchNormCtx(x={self.x.shape}, affine=({self.gamma is not None}, "
                f"{self.has_beta}), batch_stats={self.batch_stats})")


def batch_norm_forward(x, gamma=None, beta=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5, num_batches_tracked=None, *, out=None):
    """Batch normalisation per channel over the batch and spatial axes (PyTorch's batch_norm).

    x (N, C, *); gamma, beta (C,) or None; running_mean, running_var (C,) or both None (then the
    batch statistics are used in eval too). training=True: batch mean and biased variance, and
    the running buffers (C-contiguous, writable) are updated in place with the unbiased variance;
    momentum=None with num_batches_tracked (batches including this one) is the cumulative
    average. training=False: running statistics. Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x, gamma, beta or the running buffers; y is written into it and
    ``y is out``. The backward does not read y.
    """
    float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must be at least 2-D (N, C, *), got shape {x.shape}")
    n, c = x.shape[0], x.shape[1]
    l = math.prod(x.shape[2:])
    gamma = _channel_param(gamma, x, "gamma", c)
    beta = _channel_param(beta, x, "beta", c)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must both be arrays or both be None")
    tracked = running_mean is not None
    if tracked:
        _running_buffer(running_mean, x, "running_mean", c)
        _running_buffer(running_var, x, "running_var", c)
        if np.shares_memory(running_mean, running_var):
            raise ValueError("running_mean and running_var must be different arrays")
    eps = _eps(eps)
    train = flag(training, "training")
    mom = _momentum(momentum, train, tracked, num_batches_tracked)
    batch_stats = train or not tracked
    m = n * l
    if batch_stats and m == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input of "
                         f"shape {x.shape}")
    check_out(out, x.shape, x.dtype, x=x, gamma=gamma, beta=beta, running_mean=running_mean,
              running_var=running_var)
    xd = x.reshape(n, c, l).astype(np.float64)
    if batch_stats:
        if m == 0:
            mean, invstd = np.zeros(c), np.zeros(c)
        else:
            mean = xd.mean(axis=(0, 2))
            var = np.square(xd - mean[:, None]).mean(axis=(0, 2))
            with np.errstate(divide="ignore"):
                invstd = 1.0 / np.sqrt(var + eps)
            if tracked:
                running_mean[...] = (1 - mom) * running_mean.astype(np.float64) + mom * mean
                running_var[...] = ((1 - mom) * running_var.astype(np.float64)
                                    + mom * var * (m / (m - 1)))
    else:
        mean = running_mean.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            invstd = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    y = (xd - mean[:, None]) * invstd[:, None]
    if gamma is not None:
        y *= gamma.astype(np.float64)[:, None]
    if beta is not None:
        y += beta.astype(np.float64)[:, None]
    y = store(out, y.astype(x.dtype).reshape(x.shape))
    return y, BatchNormCtx(x, gamma, mean, invstd, beta is not None, batch_stats)


def batch_norm_backward(dy, ctx):
    """Gradients of batch_norm_forward: dy (x's shape) -> ``(dx, dgamma, dbeta)`` (None for an
    absent gamma / beta); the full batch-statistics gradient when the forward used batch
    statistics, the per-channel affine map dx = dy * gamma * invstd otherwise."""
    x = check_ctx(ctx, BatchNormCtx, "batch_norm_forward").x
    _same_type(x, dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(f"dy must have the forward input's shape {x.shape}, got {dy.shape}")
    n, c = x.shape[0], x.shape[1]
    l = math.prod(x.shape[2:])
    m = n * l
    xd = x.reshape(n, c, l).astype(np.float64)
    g = dy.reshape(n, c, l).astype(np.float64)
    mean, invstd = ctx.mean[:, None], ctx.invstd[:, None]
    xhat = (xd - mean) * invstd
    dbeta = g.sum(axis=(0, 2))
    dgamma = (g * xhat).sum(axis=(0, 2))
    scale = (ctx.gamma.astype(np.float64) if ctx.gamma is not None else np.ones(c))[:, None] * invstd
    if ctx.batch_stats and m > 0:
        dx = scale / m * (m * g - dbeta[:, None] - xhat * dgamma[:, None])
    else:
        dx = scale * g
    dx = dx.astype(x.dtype).reshape(x.shape)
    return (dx, dgamma.astype(x.dtype) if ctx.gamma is not None else None,
            dbeta.astype(x.dtype) if ctx.has_beta else None)


class LayerNormCtx:
    """What layer_norm_backward needs: x, gamma (normalized_shape) or None, mean and rstd float64
    (one per row), has_beta, normalized_shape."""
    __slots__ = ("x", "gamma", "mean", "rstd", "has_beta", "normalized_shape")

    def __init__(self, x, gamma, mean, rstd, has_beta, normalized_shape):
        self.x, self.gamma, self.mean, self.rstd = x, gamma, mean, rstd
        self.has_beta, self.normalized_shape = has_beta, normalized_shape

    def __repr__(self):
        return (f"LayerNormCtx(x={self.x.shape}, normalized_shape={self.normalized_shape}, "
                f"affine=({self.gamma is not None}, {self.has_beta}))")


def _trailing_shape(x, normalized_shape):
    if normalized_shape is None:
        if x.ndim < 1:
            raise ValueError(f"x must be at least 1-D (*, D), got shape {x.shape}")
        return (x.shape[-1],)
    if isinstance(normalized_shape, bool):
        raise TypeError("normalized_shape must be an int or a tuple of ints, got bool")
    if isinstance(normalized_shape, int):
        shp = (normalized_shape,)
    else:
        try:
            shp = tuple(normalized_shape)
        except TypeError:
            raise TypeError(f"normalized_shape must be an int or a tuple of ints, got "
                            f"{type(normalized_shape).__name__}") from None
        for s in shp:
            if isinstance(s, bool) or not isinstance(s, int):
                raise TypeError(f"normalized_shape must be an int or a tuple of ints, got "
                                f"{normalized_shape!r}")
    k = len(shp)
    if k < 1 or k > x.ndim or x.shape[x.ndim - k:] != shp:
        raise ValueError(f"normalized_shape {shp} must be non-empty and equal the trailing "
                         f"dimensions of x {x.shape}")
    return shp


def _norm_param(a, x, name, shp):
    if a is None:
        return None
    _same_type(x, a, name)
    if a.shape != shp:
        raise ValueError(f"{name} must have shape normalized_shape = {shp} (x {x.shape}), "
                         f"got {a.shape}")
    return a


def layer_norm_forward(x, gamma=None, beta=None, eps=1e-5, normalized_shape=None, *, out=None):
    """Layer normalisation over the trailing dims (default the last): x (*, D), gamma, beta (D,)
    (or normalized_shape) or None. Returns ``(y, ctx)``, y with x's shape.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x, gamma or beta; y is written into it and ``y is out``. The backward
    does not read y.
    """
    float_array(x, "x")
    shp = _trailing_shape(x, normalized_shape)
    gamma = _norm_param(gamma, x, "gamma", shp)
    beta = _norm_param(beta, x, "beta", shp)
    eps = _eps(eps)
    check_out(out, x.shape, x.dtype, x=x, gamma=gamma, beta=beta)
    d = math.prod(shp)
    rows = x.size // d if d else math.prod(x.shape[:x.ndim - len(shp)])
    xd = x.reshape(rows, d).astype(np.float64)
    if d:
        mean = xd.mean(axis=1)
        var = np.square(xd - mean[:, None]).mean(axis=1)
    else:
        mean, var = np.zeros(rows), np.zeros(rows)
    with np.errstate(divide="ignore"):
        rstd = 1.0 / np.sqrt(var + eps)
    y = (xd - mean[:, None]) * rstd[:, None]
    if gamma is not None:
        y *= gamma.reshape(-1).astype(np.float64)
    if beta is not None:
        y += beta.reshape(-1).astype(np.float64)
    y = store(out, y.astype(x.dtype).reshape(x.shape))
    return y, LayerNormCtx(x, gamma, mean, rstd, beta is not None, shp)


def layer_norm_backward(dy, ctx):
    """Gradients of layer_norm_forward: dy (x's shape) -> ``(dx, dgamma, dbeta)`` (dgamma / dbeta
    with normalized_shape, None for an absent gamma / beta)."""
    x = check_ctx(ctx, LayerNormCtx, "layer_norm_forward").x
    _same_type(x, dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(f"dy must have the forward input's shape {x.shape}, got {dy.shape}")
    shp = ctx.normalized_shape
    d = math.prod(shp)
    rows = ctx.mean.shape[0]
    xd = x.reshape(rows, d).astype(np.float64)
    g = dy.reshape(rows, d).astype(np.float64)
    rstd = ctx.rstd[:, None]
    xhat = (xd - ctx.mean[:, None]) * rstd
    h = g * ctx.gamma.reshape(-1).astype(np.float64) if ctx.gamma is not None else g
    if d:
        dx = rstd * (h - h.mean(axis=1, keepdims=True) - xhat * (h * xhat).mean(axis=1, keepdims=True))
    else:
        dx = h
    dgamma = (g * xhat).sum(axis=0).reshape(shp).astype(x.dtype) if ctx.gamma is not None else None
    dbeta = g.sum(axis=0).reshape(shp).astype(x.dtype) if ctx.has_beta else None
    return dx.astype(x.dtype).reshape(x.shape), dgamma, dbeta
