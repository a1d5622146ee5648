"""Sequential: modules applied in order, backward in reverse order."""
from collections import OrderedDict

from .. import functional
from ..backend import get_backend
from .layers import Linear, ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .module import Module

__all__ = ["Sequential"]

# An activation right after a Linear (or a ReLU right after a Conv2d) runs inside that layer's
# kernel on the compiled backend.
_FUSABLE = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh"}
_FUSABLE_CONV = {ReLU: "relu"}


def _flag(v, name):
    try:
        return bool(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__}") from None


class Sequential(Module):
    """Run modules in order: ``Sequential(Linear(784, 256), ReLU(), Linear(256, 10))``, or from
    an OrderedDict of name -> module. Sub-modules are named "0", "1", ... (or by the dict's keys)
    as in PyTorch, so state_dict keys match torch.nn.Sequential's.

    forward(x) chains the modules' forwards; backward(dout) runs their backwards in reverse and
    returns the gradient of the input. On the compiled backend a Linear directly followed by a
    ReLU, Sigmoid or Tanh runs as one fused ``linear_forward(..., activation=...)`` call, and a
    Conv2d followed by a ReLU as one ``conv2d_forward(..., activation="relu")`` call (the same
    result in one pass over the output); set ``fuse = False`` to turn this off. A fused
    activation module's own forward/backward are not called.
    """

    def __init__(self, *args):
        super().__init__()
        self.fuse = True
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, mod in args[0].items():
                self.add_module(name, mod)
        else:
            for i, mod in enumerate(args):
                if not isinstance(mod, Module):
                    raise TypeError(f"Sequential takes Modules, got {type(mod).__name__} at position {i}")
                self.add_module(str(i), mod)

    def forward(self, x):
        backend = get_backend()
        mods = [m for m in self._modules.values() if m is not None]
        steps = []
        fuse = self.fuse and backend is functional
        i, n = 0, len(mods)
        while i < n:
            m = mods[i]
            if fuse and type(m) is Linear and i + 1 < n and type(mods[i + 1]) in _FUSABLE:
                x = m._forward(x, _FUSABLE[type(mods[i + 1])])
                i += 2
            elif fuse and type(m) is Conv2d and i + 1 < n and type(mods[i + 1]) in _FUSABLE_CONV:
                x = m._forward(x, _FUSABLE_CONV[type(mods[i + 1])])
                i += 2
            else:
                x = m(x)
                i += 1
            steps.append(m)
        self._save(steps, backend)
        return x

    def backward(self, dout, input_grad=True):
        """Run the saved steps' backwards in reverse; returns the gradient of the input.

        ``input_grad=False`` (the caller does not need that gradient, e.g. the model's input is
        data): returns None, and the first layer skips computing it when it can (Linear, Conv2d
        and a nested Sequential take ``input_grad=False``; any other first module runs its
        backward as usual and its result is dropped). fit() calls it this way."""
        input_grad = _flag(input_grad, "input_grad")
        steps, _ = self._saved()
        for m in reversed(steps[1:]):
            dout = m.backward(dout)
        if not steps:
            return dout if input_grad else None
        if input_grad:
            return steps[0].backward(dout)
        if type(steps[0]) in _SKIPS_INPUT_GRAD:
            steps[0].backward(dout, input_grad=False)
        else:
            steps[0].backward(dout)
        return None

    # -- list-like access -----------------------------------------------------------------------
    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a Sequential of length {n}")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        doomed = set(keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]])
        kept = [(k, m) for k, m in self._modules.items() if k not in doomed]
        # renumber like torch, so the names stay "0".."n-1"
        self._set_children((str(i) if k.isdigit() else k, m) for i, (k, m) in enumerate(kept))

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add a module at the end; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append takes a Module, got {type(module).__name__}")
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert a module before position ``index``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert takes a Module, got {type(module).__name__}")
        mods = list(self._modules.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"index {index} is out of range for a Sequential of length {n}")
        mods.insert(index + n if index < 0 else index, module)
        self._set_children((str(i), m) for i, m in enumerate(mods))
        return self


# first layers whose backward takes input_grad=False (Sequential.backward)
_SKIPS_INPUT_GRAD = (Linear, Conv2d, Sequential)
