"""Layers, losses and containers with PyTorch's names, arguments and weight layouts, running on
fastnn's kernels (``fastnn.get_backend()``: compiled by default, or the numpy references).

No autograd: every module has ``forward(x)`` and ``backward(dout)``; backward returns the input
gradient and adds the parameter gradients into ``Parameter.grad``.
"""
from .module import Parameter, Module, StateDictError, IncompatibleKeys
from .layers import (Linear, Identity, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Sign, Softmax,
                     LogSoftmax, Dropout, Flatten)
from .conv import (Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, BatchNorm1d,
                   BatchNorm2d, LayerNorm)
from .rnn import RNN, LSTM, GRU, Embedding
from .containers import Sequential
from .loss import CrossEntropyLoss, NLLLoss, MSELoss, L1Loss
from . import init
from .init import manual_seed

__all__ = ["Parameter", "Module", "StateDictError", "IncompatibleKeys", "Linear", "Identity",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Sign", "Softmax", "LogSoftmax",
           "Dropout", "Flatten", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
           "GlobalAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Sequential",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "init", "manual_seed", "RNN", "LSTM",
           "GRU", "Embedding"]
