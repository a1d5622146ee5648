"""numpy twin of fastnn._dropout: inverted dropout with the same counter-based mask.

Element i (flat C-order index) is kept iff (splitmix64(key, i) >> 11) >= ceil(p * 2^53), the
hash computed here in vectorised uint64 arithmetic exactly as csrc/dropout.h does it in C, so
the same seed gives the same mask on both backends, bit for bit.
"""
import math

import numpy as np

from ._checks import float_array, same_dtype, check_out, store, flag

__all__ = ["dropout_forward", "dropout_backward"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def keep_mask(key, n, threshold):
    """bool (n,): element i kept iff (splitmix64(key, i) >> 11) >= threshold."""
    z = np.arange(1, n + 1, dtype=np.uint64)
    z *= _GOLDEN                       # uint64 arrays wrap modulo 2^64, silently
    z += np.uint64(key)
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)) >= np.uint64(threshold)


def _prob(p):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"p must be a float in [0, 1], got {type(p).__name__}")
    v = float(p)
    if not 0 <= v <= 1:
        raise ValueError(f"p must be in [0, 1], got {p!r}")
    return v


def _check_rng(rng):
    if rng is None or isinstance(rng, np.random.Generator):
        return
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, "
                        f"got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"rng seed must be a non-negative int, got {rng}")


class DropoutCtx:
    """What dropout_backward needs: mode ("identity" for training=False or p=0, "zero" for
    p=1, "mask"), p, key (the 64-bit mask key; 0 unless mode is "mask"), threshold
    (ceil(p * 2^53)), scale (1 / (1 - p)), shape and dtype of x. mask() gives the keep mask."""
    __slots__ = ("mode", "p", "key", "threshold", "scale", "shape", "dtype")

    def __init__(self, mode, p, key, threshold, scale, shape, dtype):
        self.mode, self.p, self.key, self.threshold = mode, p, key, threshold
        self.scale, self.shape, self.dtype = scale, shape, dtype

    def mask(self):
        """The keep mask as a bool array of x's shape."""
        if self.mode != "mask":
            return np.full(self.shape, self.mode == "identity", dtype=bool)
        return keep_mask(self.key, math.prod(self.shape), self.threshold).reshape(self.shape)

    def __repr__(self):
        return f"DropoutCtx(mode={self.mode!r}, p={self.p}, shape={self.shape}, dtype={self.dtype})"


def _apply(ctx, a):
    if ctx.mode == "identity":
        return np.array(a, order="C", copy=True)
    if ctx.mode == "zero":
        return np.zeros(a.shape, a.dtype)
    return np.where(ctx.mask(), a * a.dtype.type(ctx.scale), a.dtype.type(0))


def dropout_forward(x, p, training=True, rng=None, *, out=None):
    """Inverted dropout: each element of x is zeroed with probability p and the kept ones are
    scaled by 1 / (1 - p).

    x any shape, float32/float64; p a float in [0, 1] (p = 1 gives zeros); training False or
    p = 0 gives a copy. rng: None (a fresh default_rng), an int seed, or a numpy.random.Generator;
    one 64-bit key is drawn from it when a mask is needed. Returns ``(y, ctx)``.

    out: None, or a preallocated array of x's shape and dtype, C-contiguous, aligned, writeable
    and not overlapping x; y is written into it (a copy of x for identity, zeros for p = 1) and
    ``y is out``. The backward does not read y. out is checked before the rng is drawn from.
    """
    float_array(x, "x")
    p = _prob(p)
    _check_rng(rng)
    check_out(out, x.shape, x.dtype, x=x)
    key, threshold, scale = 0, 0, 1.0
    if not flag(training, "training") or p == 0:
        mode = "identity"
    elif p == 1:
        mode, scale = "zero", 0.0
    else:
        mode = "mask"
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        key = int(gen.bit_generator.random_raw())      # == gen.integers(0, 2**64, dtype=np.uint64)
        threshold = math.ceil(p * 2.0 ** 53)
        scale = 1.0 / (1.0 - p)
    ctx = DropoutCtx(mode, p, key, threshold, scale, x.shape, x.dtype)
    return store(out, _apply(ctx, x)), ctx


def dropout_backward(dy, ctx):
    """Gradient of dropout_forward: dx = dy * mask / (1 - p) with the forward's mask."""
    if not isinstance(ctx, DropoutCtx):
        raise TypeError(f"ctx must be a DropoutCtx, got {type(ctx).__name__}")
    float_array(dy, "dy")
    if dy.dtype.type is not np.dtype(ctx.dtype).type:    # byte order aside
        raise TypeError(f"dy has dtype {dy.dtype} but x has dtype {ctx.dtype}; mixed dtypes are not converted")
    if dy.shape != ctx.shape:
        raise ValueError(f"dy must have the forward input's shape {ctx.shape}, got {dy.shape}")
    return _apply(ctx, dy)
