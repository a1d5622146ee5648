"""Loss modules: forward(input, target) -> loss, backward(dloss=1.0) -> gradient of input."""
import numbers

import numpy as np

from ..backend import get_backend
from .layers import kernel, KernelOp
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss"]

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(KernelOp, Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def _kwargs(self):
        return {"reduction": self.reduction}

    def forward(self, input, target):
        """input: float32/float64 array; target: see the class. Returns the loss: a 0-d array of
        input's dtype ("mean", "sum") or one value per element/sample ("none")."""
        backend = get_backend()
        loss, ctx = kernel(backend, self._fwd)(input, target, **self._kwargs())
        d = self.__dict__
        d["_ctx"], d["_backend"] = ctx, backend
        d["_loss_shape"], d["_dtype"] = loss.shape, loss.dtype
        return loss

    def backward(self, dloss=1.0):
        """Gradient of the input; dloss is the upstream gradient of the loss (a number, or an
        array of the loss's shape; 1.0 by default)."""
        ctx, backend = self._saved()
        d = self.__dict__
        shape, dtype = d["_loss_shape"], d["_dtype"]
        if isinstance(dloss, numbers.Number) or (isinstance(dloss, np.ndarray) and dloss.ndim == 0
                                                  and dloss.dtype.kind in "iuf"):
            dloss = np.full(shape, dloss, dtype=dtype)
        return kernel(backend, self._bwd)(dloss, ctx)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C) against int64 class indices (N,), fused in one
    kernel. Targets equal to ``ignore_index`` do not count (nor towards the mean)."""
    _op = "cross_entropy"

    def __init__(self, *, reduction="mean", ignore_index=-100):
        super().__init__(reduction)
        self.ignore_index = int(ignore_index)

    def _kwargs(self):
        return {"reduction": self.reduction, "ignore_index": self.ignore_index}


class NLLLoss(CrossEntropyLoss):
    """Negative log-likelihood of log-probabilities (N, C) (e.g. LogSoftmax's output) against
    int64 class indices (N,)."""
    _op = "nll_loss"


class MSELoss(_Loss):
    """Mean squared error between input and a target of the same shape and dtype."""
    _op = "mse_loss"


class L1Loss(_Loss):
    """Mean absolute error between input and a target of the same shape and dtype."""
    _op = "l1_loss"
