"""Layers with PyTorch's names, constructor arguments, weight layouts and initialisation.

Each layer's forward looks the kernel module up with ``fastnn.get_backend()`` (the compiled
fastnn.functional, or the numpy fastnn.reference), keeps the kernel's ctx and that module, and
its backward pairs with them, whatever the backend is by then.
"""
import numpy as np

from ..backend import get_backend
from ..reference._checks import FLOAT_TYPES as _FLOAT_TYPES
from . import init
from ._util import _int, _float_dtype
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Sign",
           "Softmax", "LogSoftmax", "Dropout", "Flatten", "kernel", "KernelOp"]


def kernel(backend, name):
    """``backend.<name>``, or a clear error when that kernel family is not in this build."""
    fn = getattr(backend, name, None)
    if fn is None:
        raise NotImplementedError(
            f"the {backend.__name__} backend has no {name}(): that kernel family is not part of "
            f"this build")
    return fn


class KernelOp:
    """Mixin for a module that runs one kernel pair: a subclass sets ``_op = "relu"`` and gets
    ``_fwd = "relu_forward"`` and ``_bwd = "relu_backward"``, the names it looks up on the
    backend (built once here, not on every call)."""
    _op = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._op is not None:
            cls._fwd, cls._bwd = cls._op + "_forward", cls._op + "_backward"


def _init_weight_bias(layer, weight_shape, fan_in, bias, dtype, rng):
    """torch's default initialisation of ``layer.weight`` (weight_shape: out first) and, if bias,
    ``layer.bias`` (out,): kaiming_uniform(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    both drawn from rng (a Generator or int seed; None: the global generator)."""
    rng = init.new_generator(rng) if rng is not None else init.default_generator()
    layer.weight = Parameter(np.empty(weight_shape, dtype))
    init.kaiming_uniform_(layer.weight, a=np.sqrt(5), rng=rng)
    if bias:
        layer.bias = Parameter(np.empty(weight_shape[0], dtype))
        bound = 1 / np.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(layer.bias, -bound, bound, rng=rng)
    else:
        layer.register_parameter("bias", None)


def _check_float_input(layer, x, name="input"):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{layer} expects a numpy.ndarray {name}, got {type(x).__name__}")
    if x.dtype.type not in _FLOAT_TYPES:
        raise TypeError(f"{layer} expects a float32 or float64 {name}, got dtype {x.dtype}; "
                        f"convert it with .astype(np.float32)")


class Linear(Module):
    """Fully connected layer ``y = x @ weight.T + bias``.

    in_features, out_features: ints; bias: bool; dtype: np.float32 (default) or np.float64;
    rng: a numpy Generator or int seed for the initial weights (default: the global generator,
    see fastnn.manual_seed). weight (out_features, in_features) ~ U(-k, k) and bias
    (out_features,) ~ U(-k, k) with k = 1/sqrt(in_features), as torch.nn.Linear
    (kaiming_uniform with a=sqrt(5)). Input (..., in_features) -> output (..., out_features),
    of the layer's dtype.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features = _int(in_features, "Linear in_features")
        self.out_features = _int(out_features, "Linear out_features")
        dtype = _float_dtype(dtype, "Linear")
        _init_weight_bias(self, (self.out_features, self.in_features), self.in_features, bias,
                          dtype, rng)

    def forward(self, x):
        return self._forward(x, None)

    def _forward(self, x, activation):
        """forward with a fused activation (None, "relu", "sigmoid", "tanh"); Sequential uses it."""
        w = self.weight.data
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{self!r} expects a numpy.ndarray input, got {type(x).__name__}")
        if x.dtype != w.dtype:
            raise TypeError(f"{self!r} has {w.dtype} weights but got an input of dtype {x.dtype}; "
                            f"convert the input (x.astype(np.{w.dtype})) or the model "
                            f"(model.to(np.{x.dtype})) - nothing is converted silently")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r} expects input of shape (N, {self.in_features}) or "
                             f"(..., {self.in_features}), got {x.shape}")
        b = self.bias.data if self.bias is not None else None
        backend = get_backend()
        if x.ndim == 2:
            y, ctx = backend.linear_forward(x, w, b, activation)
            lead = None
        else:
            lead = x.shape[:-1]
            y, ctx = backend.linear_forward(x.reshape(-1, self.in_features), w, b, activation)
            y = y.reshape(lead + (self.out_features,))
        d = self.__dict__
        d["_ctx"], d["_backend"], d["_lead"] = ctx, backend, lead
        return y

    def backward(self, dy, input_grad=True):
        """dy (..., out_features) -> dx (..., in_features); adds into weight.grad and bias.grad.
        ``input_grad=False`` skips dx and returns None (a network's first layer: the kernel then
        does no input-gradient GEMM)."""
        ctx, backend = self._saved()
        lead = self.__dict__["_lead"]
        if lead is not None and isinstance(dy, np.ndarray):
            if dy.shape != lead + (self.out_features,):
                raise ValueError(f"dy must have the forward output's shape "
                                 f"{lead + (self.out_features,)}, got {dy.shape}")
            dy = dy.reshape(-1, self.out_features)
        dx, dw, db = backend.linear_backward(dy, ctx, input_grad)
        self._accumulate_weight_bias(dw, db)
        if dx is None:
            return None
        return dx if lead is None else dx.reshape(lead + (self.in_features,))

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, as torch.nn.Identity)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        self._save(True, None)
        return x

    def backward(self, dy):
        self._saved()
        return dy


class _KernelLayer(KernelOp, Module):
    """A layer that runs one kernel pair ``<op>_forward(x)`` / ``<op>_backward(dy, ctx)``. A
    layer whose forward kernel takes more than x (LeakyReLU's slope, Softmax's dim) overrides
    forward with its own copy of these lines, not a shared helper: a layer call stays one frame."""

    def forward(self, x):
        backend = get_backend()
        y, ctx = kernel(backend, self._fwd)(x)
        d = self.__dict__
        d["_ctx"], d["_backend"] = ctx, backend
        return y

    def backward(self, dy):
        ctx, backend = self._saved()
        return kernel(backend, self._bwd)(dy, ctx)


class ReLU(_KernelLayer):
    """max(x, 0), elementwise, any shape. (``inplace`` is accepted for PyTorch compatibility;
    the output is always a new array.)"""
    _op = "relu"

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_KernelLayer):
    """x for x > 0, negative_slope * x otherwise."""
    _op = "leaky_relu"

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.inplace = inplace

    def forward(self, x):
        backend = get_backend()
        y, ctx = kernel(backend, self._fwd)(x, self.negative_slope)
        d = self.__dict__
        d["_ctx"], d["_backend"] = ctx, backend
        return y

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(_KernelLayer):
    """1 / (1 + exp(-x)), stable for large |x|."""
    _op = "sigmoid"


class Tanh(_KernelLayer):
    """tanh(x)."""
    _op = "tanh"


class GELU(_KernelLayer):
    """GELU, exact form ``x * Phi(x)`` (torch's approximate="none", the only form the kernels
    provide: approximate="tanh" raises NotImplementedError)."""
    _op = "gelu"

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate == "tanh":
            raise NotImplementedError("GELU(approximate='tanh') is not available: fastnn's gelu "
                                      "kernels compute the exact form (approximate='none')")
        if approximate != "none":
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sign(_KernelLayer):
    """sign(x) (-1, 0, 1); its gradient is zero (sign is piecewise constant)."""
    _op = "sign"


class _Normalize(_KernelLayer):
    """Softmax or LogSoftmax along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{type(self).__name__} dim must be an int, got {type(dim).__name__}")
        self.dim = int(dim)

    def forward(self, x):
        backend = get_backend()
        y, ctx = kernel(backend, self._fwd)(x, self.dim)
        d = self.__dict__
        d["_ctx"], d["_backend"] = ctx, backend
        return y

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_Normalize):
    """exp(x) / sum(exp(x)) along ``dim`` (default the last axis)."""
    _op = "softmax"


class LogSoftmax(_Normalize):
    """x - logsumexp(x) along ``dim`` (default the last axis)."""
    _op = "log_softmax"


_IDENTITY = "identity"   # the ctx of a Dropout forward that did nothing (eval mode or p == 0)


class Dropout(Module):
    """During training, zero each element with probability p and scale the rest by 1/(1-p);
    in eval mode (``model.eval()``), the identity.

    p: float in [0, 1]; rng: a numpy Generator or int seed for the masks (default: a generator
    seeded from the global one, see fastnn.manual_seed). ``inplace`` is accepted for PyTorch
    compatibility; the output is always a new array.
    """

    def __init__(self, p=0.5, inplace=False, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
            raise TypeError(f"Dropout p must be a float, got {type(p).__name__}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be between 0 and 1, got {p}")
        self.p = float(p)
        self.inplace = inplace
        self.rng = init.new_generator(rng)

    def forward(self, x):
        if not self.training or self.p == 0.0:
            _check_float_input("Dropout", x)
            self._save(_IDENTITY, None)
            return x
        backend = get_backend()
        y, ctx = kernel(backend, "dropout_forward")(x, self.p, training=True, rng=self.rng)
        self._save(ctx, backend)
        return y

    def backward(self, dy):
        ctx, backend = self._saved()
        if ctx is _IDENTITY:
            return dy
        return backend.dropout_backward(dy, ctx)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default. A view
    when the input is contiguous."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"Flatten expects a numpy.ndarray input, got {type(x).__name__}")
        nd = max(x.ndim, 1)
        s = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        e = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= s < nd and 0 <= e < nd):
            raise ValueError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) is out of "
                             f"range for an input of shape {x.shape}")
        if s > e:
            raise ValueError(f"Flatten start_dim {self.start_dim} comes after end_dim {self.end_dim} "
                             f"for an input of shape {x.shape}")
        shape = x.shape
        self._save(shape, None)
        if x.ndim == 0:
            return x.reshape(1)
        return x.reshape(shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])

    def backward(self, dy):
        shape, _ = self._saved()
        return np.reshape(dy, shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
