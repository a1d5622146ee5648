"""Parameter initialisation (PyTorch's schemes) and the global random generator.

Every function takes an ndarray or a Parameter, fills it in place from a numpy Generator
(``rng``, default: the global one that ``fastnn.manual_seed`` seeds) and returns it. Values are
drawn in float64 and rounded to the array's dtype, so float32 and float64 models built from the
same seed hold the same numbers.
"""
import math

import numpy as np

__all__ = ["manual_seed", "default_generator", "new_generator", "calculate_fan_in_and_fan_out",
           "calculate_gain", "uniform_", "normal_", "zeros_", "ones_", "constant_",
           "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"]

_global = {"rng": np.random.default_rng()}


def manual_seed(seed):
    """Seed the global generator that layers draw their initial weights (and Dropout layers
    their masks' seeds) from: the same seed builds the same model. Returns the new Generator."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    _global["rng"] = np.random.default_rng(int(seed))
    return _global["rng"]


def default_generator():
    """The global numpy Generator (see manual_seed)."""
    return _global["rng"]


def new_generator(rng=None):
    """A Generator for a new layer: ``rng`` itself when given (a Generator, or an int seed), else
    a fresh one seeded from the global generator."""
    if rng is None:
        return np.random.default_rng(int(_global["rng"].integers(2 ** 63)))
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def _array(t):
    return t.data if hasattr(t, "data") and not isinstance(t, np.ndarray) else t


def _rng(rng):
    return _global["rng"] if rng is None else new_generator(rng)


def calculate_fan_in_and_fan_out(t):
    """fan_in, fan_out of a weight of shape (out, in, *kernel) as PyTorch computes them."""
    shape = _array(t).shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    """PyTorch's recommended gain for an activation ("linear", "relu", "leaky_relu", "tanh", ...)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fill(t, values):
    a = _array(t)
    a[...] = values
    return t


def uniform_(t, a=0.0, b=1.0, rng=None):
    """Fill with U(a, b)."""
    return _fill(t, _rng(rng).uniform(a, b, size=_array(t).shape))


def normal_(t, mean=0.0, std=1.0, rng=None):
    """Fill with N(mean, std^2)."""
    return _fill(t, _rng(rng).normal(mean, std, size=_array(t).shape))


def constant_(t, value):
    return _fill(t, value)


def zeros_(t):
    return _fill(t, 0)


def ones_(t):
    return _fill(t, 1)


def _fan(t, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan). With a=sqrt(5) (what
    torch.nn.Linear uses) bound = 1/sqrt(fan_in)."""
    fan = _fan(t, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan) if fan > 0 else 0.0
    return uniform_(t, -bound, bound, rng)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    fan = _fan(t, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan > 0 else 0.0
    return normal_(t, 0.0, std, rng)


def xavier_uniform_(t, gain=1.0, rng=None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out > 0 else 0.0
    return uniform_(t, -bound, bound, rng)


def xavier_normal_(t, gain=1.0, rng=None):
    fan_in, fan_out = calculate_fan_in_and_fan_out(t)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out > 0 else 0.0
    return normal_(t, 0.0, std, rng)
