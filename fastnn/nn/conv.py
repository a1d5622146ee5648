"""Convolution, pooling and normalisation layers with PyTorch's names, constructor arguments,
parameter / buffer names, shapes and initialisation, on the conv, pool and norm kernels.

As in layers.py, each forward looks the kernel module up with ``fastnn.get_backend()``, keeps
the kernel's ctx and that module, and its backward pairs with them. Image layers take
(N, C, H, W), or an unbatched (C, H, W) as torch does (the gradient comes back in the same shape).
"""
import numpy as np

from ..backend import get_backend
from .layers import kernel, _check_float_input, _init_weight_bias
from ._util import _int, _float_dtype
from .module import Module, Parameter

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d",
           "BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _pair(v, what, minimum=0):
    """(h, w) from an int or a pair of ints."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {v!r}")
        return (_int(v[0], what, minimum), _int(v[1], what, minimum))
    v = _int(v, what, minimum)
    return (v, v)


def _image_input(layer, x):
    """x as (N, C, H, W): a checked float ndarray, an unbatched (C, H, W) gets a batch axis.
    Returns (x4, unbatched)."""
    _check_float_input(layer, x)
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x[None], True
    raise ValueError(f"{layer} expects input of shape (N, C, H, W) or (C, H, W), got {x.shape}")


class _ImageOp(Module):
    """Shared forward tail / backward of the image layers: keeps (ctx, unbatched) and the backend."""

    def _finish(self, y, ctx, backend, unbatched):
        d = self.__dict__
        d["_ctx"], d["_backend"], d["_lead"] = ctx, backend, unbatched
        return y[0] if unbatched else y

    def _dy4(self, dy):
        if self.__dict__["_lead"] and isinstance(dy, np.ndarray):
            if dy.ndim != 3:
                raise ValueError(f"dy must have the forward output's shape (C, H_out, W_out) of an "
                                 f"unbatched input, got {dy.shape}")
            return dy[None]
        return dy


class Conv2d(_ImageOp):
    """2-D convolution (cross-correlation) as torch.nn.Conv2d.

    in_channels, out_channels: ints; kernel_size, stride, dilation: an int or an (h, w) pair;
    padding: an int, a pair, "valid" (no padding) or "same" (stride 1, even dilation*(k-1)
    per axis only; other cases raise NotImplementedError); groups divides both channel
    counts; bias: bool; dtype np.float32 (default) or np.float64; rng: a numpy Generator or
    int seed (default: the global generator, see fastnn.manual_seed).
    weight (out_channels, in_channels/groups, kH, kW) ~ kaiming_uniform(a=sqrt(5)), i.e.
    U(-k, k) with k = 1/sqrt(fan_in), fan_in = in_channels/groups*kH*kW; bias (out_channels,)
    ~ U(-k, k), as torch. Input (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", dtype=np.float32, rng=None):
        super().__init__()
        self.in_channels = _int(in_channels, "Conv2d in_channels", 1)
        self.out_channels = _int(out_channels, "Conv2d out_channels", 1)
        self.groups = _int(groups, "Conv2d groups", 1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2d groups = {self.groups} must divide in_channels "
                             f"({self.in_channels}) and out_channels ({self.out_channels})")
        self.kernel_size = _pair(kernel_size, "Conv2d kernel_size", 1)
        self.stride = _pair(stride, "Conv2d stride", 1)
        self.dilation = _pair(dilation, "Conv2d dilation", 1)
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d padding_mode {padding_mode!r}: only 'zeros' is supported")
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if padding == "valid":
                self._pad = (0, 0)
            elif padding == "same":
                if self.stride != (1, 1):
                    raise ValueError("Conv2d padding='same' is not supported for strided convolutions")
                total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
                if any(t % 2 for t in total):
                    raise NotImplementedError(
                        f"Conv2d padding='same' with an odd total padding {tuple(total)} (asymmetric) "
                        f"is not supported; use an odd kernel size")
                self._pad = (total[0] // 2, total[1] // 2)
            else:
                raise ValueError(f"Conv2d padding must be an int, a pair, 'valid' or 'same', "
                                 f"got {padding!r}")
            self.padding = padding
        else:
            self.padding = self._pad = _pair(padding, "Conv2d padding", 0)
        dtype = _float_dtype(dtype, "Conv2d")
        kh, kw = self.kernel_size
        _init_weight_bias(self, (self.out_channels, self.in_channels // self.groups, kh, kw),
                          self.in_channels // self.groups * kh * kw, bias, dtype, rng)

    def forward(self, x):
        return self._forward(x, None)

    def _forward(self, x, activation):
        """forward with a fused activation (None or "relu"), as Linear._forward: ready for a
        container to fuse Conv2d + ReLU into one conv2d_forward(..., activation="relu") call."""
        x4, unbatched = _image_input("Conv2d", x)
        w = self.weight.data
        if x4.dtype != w.dtype:
            raise TypeError(f"{self!r} has {w.dtype} weights but got an input of dtype {x.dtype}; "
                            f"convert the input (x.astype(np.{w.dtype})) or the model "
                            f"(model.to(np.{x.dtype})) - nothing is converted silently")
        if x4.shape[1] != self.in_channels:
            raise ValueError(f"{self!r} expects {self.in_channels} input channels, got input of "
                             f"shape {x.shape} ({x4.shape[1]} channels)")
        b = self.bias.data if self.bias is not None else None
        backend = get_backend()
        y, ctx = kernel(backend, "conv2d_forward")(x4, w, b, self.stride, self._pad,
                                                   self.dilation, self.groups, activation)
        return self._finish(y, ctx, backend, unbatched)

    def backward(self, dy, input_grad=True):
        """dy (N, C_out, H_out, W_out) -> dx (the input's shape); adds into weight.grad and bias.grad.
        ``input_grad=False`` skips dx and returns None (a network's first layer: no
        input-gradient GEMM, no col2im)."""
        ctx, backend = self._saved()
        unbatched = self.__dict__["_lead"]
        dx, dw, db = backend.conv2d_backward(self._dy4(dy), ctx, input_grad)
        self._accumulate_weight_bias(dw, db)
        if dx is None:
            return None
        return dx[0] if unbatched else dx

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


def _pool_size(v, what, minimum):
    """An int stays an int (torch keeps what it was given, for repr); a pair is checked."""
    if isinstance(v, (tuple, list)):
        return _pair(v, what, minimum)
    return _int(v, what, minimum)


class MaxPool2d(_ImageOp):
    """2-D max pooling as torch.nn.MaxPool2d: kernel_size, stride (default kernel_size) and
    padding an int or an (h, w) pair, ceil_mode as torch's. dilation must be 1 and
    return_indices False (NotImplementedError otherwise). (N, C, H, W) or (C, H, W) -> (..., H_out, W_out)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = _pool_size(kernel_size, "MaxPool2d kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pool_size(stride, "MaxPool2d stride", 1)
        self.padding = _pool_size(padding, "MaxPool2d padding", 0)
        if _pair(dilation, "MaxPool2d dilation", 1) != (1, 1):
            raise NotImplementedError("MaxPool2d dilation other than 1 is not supported")
        if return_indices:
            raise NotImplementedError("MaxPool2d return_indices=True is not supported")
        self.dilation, self.return_indices, self.ceil_mode = dilation, False, bool(ceil_mode)

    def forward(self, x):
        x4, unbatched = _image_input("MaxPool2d", x)
        backend = get_backend()
        y, ctx = kernel(backend, "max_pool2d_forward")(x4, self.kernel_size, self.stride,
                                                       self.padding, self.ceil_mode)
        return self._finish(y, ctx, backend, unbatched)

    def backward(self, dy):
        ctx, backend = self._saved()
        dx = backend.max_pool2d_backward(self._dy4(dy), ctx)
        return dx[0] if self.__dict__["_lead"] else dx

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_ImageOp):
    """2-D average pooling as torch.nn.AvgPool2d: kernel_size, stride (default kernel_size),
    padding, ceil_mode, count_include_pad (divisor kH*kW, or the real pixels in the window).
    divisor_override is not supported (NotImplementedError)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = _pool_size(kernel_size, "AvgPool2d kernel_size", 1)
        self.stride = self.kernel_size if stride is None else _pool_size(stride, "AvgPool2d stride", 1)
        self.padding = _pool_size(padding, "AvgPool2d padding", 0)
        if divisor_override is not None:
            raise NotImplementedError("AvgPool2d divisor_override is not supported")
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = None

    def forward(self, x):
        x4, unbatched = _image_input("AvgPool2d", x)
        backend = get_backend()
        y, ctx = kernel(backend, "avg_pool2d_forward")(x4, self.kernel_size, self.stride,
                                                       self.padding, self.count_include_pad,
                                                       self.ceil_mode)
        return self._finish(y, ctx, backend, unbatched)

    def backward(self, dy):
        ctx, backend = self._saved()
        dx = backend.avg_pool2d_backward(self._dy4(dy), ctx)
        return dx[0] if self.__dict__["_lead"] else dx

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class GlobalAvgPool2d(_ImageOp):
    """Mean over each (H, W) plane: (N, C, H, W) -> (N, C, 1, 1) (or (C, H, W) -> (C, 1, 1)),
    what AdaptiveAvgPool2d(1) computes, on the global_avg_pool2d kernel."""

    def forward(self, x):
        x4, unbatched = _image_input(type(self).__name__, x)
        backend = get_backend()
        y, ctx = kernel(backend, "global_avg_pool2d_forward")(x4)
        return self._finish(y, ctx, backend, unbatched)

    def backward(self, dy):
        ctx, backend = self._saved()
        dx = backend.global_avg_pool2d_backward(self._dy4(dy), ctx)
        return dx[0] if self.__dict__["_lead"] else dx


class AdaptiveAvgPool2d(GlobalAvgPool2d):
    """torch.nn.AdaptiveAvgPool2d restricted to output_size 1 or (1, 1) (global average
    pooling, the case CNN classifiers use); any other output_size raises ValueError."""

    def __init__(self, output_size):
        super().__init__()
        ok = output_size == 1 or (isinstance(output_size, (tuple, list)) and len(output_size) == 2
                                  and all(v == 1 and not isinstance(v, bool) for v in output_size))
        if not ok or isinstance(output_size, bool):
            raise ValueError(f"AdaptiveAvgPool2d supports only output_size 1 or (1, 1) (global "
                             f"average pooling), got {output_size!r}")
        self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) else output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _BatchNorm(Module):
    """Shared body of BatchNorm1d / BatchNorm2d (torch's _BatchNorm)."""
    _ndims = ()          # accepted input ranks
    _shape_text = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32, *, bias=True):
        super().__init__()
        name = type(self).__name__
        self.num_features = _int(num_features, f"{name} num_features", 1)
        self.eps = float(eps)
        if momentum is not None:
            momentum = float(momentum)
        self.momentum = momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = _float_dtype(dtype, name)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype))
            if bias:
                self.bias = Parameter(np.zeros(c, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype))
            self.register_buffer("running_var", np.ones(c, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.fill(0)
            self.running_var.fill(1)
            self.num_batches_tracked.fill(0)

    def forward(self, x):
        name = type(self).__name__
        _check_float_input(name, x)
        if x.ndim not in self._ndims:
            raise ValueError(f"{name} expects input of shape {self._shape_text}, got {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expects {self.num_features} channels (dimension 1), got "
                             f"input of shape {x.shape}")
        w = self.weight.data if self.weight is not None else None
        b = self.bias.data if self.bias is not None else None
        nbt = None
        counter = self.num_batches_tracked
        if self.training and counter is not None:
            nbt = int(counter) + 1
            counter[()] = nbt                 # in place: the buffer array stays the same object
        # running statistics in eval mode; batch statistics in training (updating the running
        # buffers when tracked) and whenever there are none
        backend = get_backend()
        try:
            y, ctx = kernel(backend, "batch_norm_forward")(
                x, w, b, self.running_mean, self.running_var, training=self.training,
                momentum=self.momentum, eps=self.eps, num_batches_tracked=nbt)
        except BaseException:
            if nbt is not None:           # a rejected batch does not count
                counter[()] = nbt - 1
            raise
        self._save(ctx, backend)
        return y

    def backward(self, dy):
        """dy (the input's shape) -> dx; adds into weight.grad and bias.grad when affine."""
        ctx, backend = self._saved()
        dx, dw, db = backend.batch_norm_backward(dy, ctx)
        self._accumulate_weight_bias(dw, db)
        return dx

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input as torch.nn.BatchNorm1d.

    weight (C,) ones and bias (C,) zeros when affine (no bias with the keyword bias=False, as
    torch 2.x); dtype np.float32 (default) or np.float64; buffers running_mean (C,) zeros,
    running_var (C,) ones and num_batches_tracked (0-d int64) when track_running_stats.
    Training: batch statistics (biased variance), running buffers updated in place with
    momentum (None: cumulative average over num_batches_tracked) and the unbiased variance.
    Eval: running statistics (batch statistics when not tracked)."""
    _ndims = (2, 3)
    _shape_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input per channel as torch.nn.BatchNorm2d; the
    parameters, buffers and train / eval behaviour of BatchNorm1d."""
    _ndims = (4,)
    _shape_text = "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dims as torch.nn.LayerNorm.

    normalized_shape: an int or a tuple of ints; weight (normalized_shape) ones and bias zeros
    when elementwise_affine (bias only with bias=True); dtype np.float32 (default) or
    np.float64. Input (*, *normalized_shape) -> output of the same shape.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=np.float32):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
            shape = (int(normalized_shape),)
        elif isinstance(normalized_shape, (tuple, list)):
            shape = tuple(_int(v, "LayerNorm normalized_shape", 0) for v in normalized_shape)
        else:
            raise TypeError(f"LayerNorm normalized_shape must be an int or a tuple of ints, got "
                            f"{type(normalized_shape).__name__}")
        if not shape:
            raise ValueError("LayerNorm normalized_shape must not be empty")
        self.normalized_shape = shape
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = _float_dtype(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype))
            if bias:
                self.bias = Parameter(np.zeros(shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        _check_float_input("LayerNorm", x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(f"{self!r} expects input of shape (*, {dims}), got {x.shape}")
        w = self.weight.data if self.weight is not None else None
        b = self.bias.data if self.bias is not None else None
        backend = get_backend()
        y, ctx = kernel(backend, "layer_norm_forward")(x, w, b, self.eps, self.normalized_shape)
        self._save(ctx, backend)
        return y

    def backward(self, dy):
        """dy (the input's shape) -> dx; adds into weight.grad and bias.grad."""
        ctx, backend = self._saved()
        dx, dw, db = backend.layer_norm_backward(dy, ctx)
        self._accumulate_weight_bias(dw, db)
        return dx

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
