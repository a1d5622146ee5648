"""Parameter and Module: the layer API's two building blocks.

A Module holds Parameters (arrays that training updates), buffers (arrays it keeps but does not
train) and sub-Modules, registered by plain attribute assignment as in PyTorch::

    class MLP(Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Linear(784, 256)     # registered as a sub-module "fc1"
            self.act = ReLU()
            self.fc2 = Linear(256, 10)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

        def backward(self, dout):           # no autograd: each module runs its own backward
            return self.fc1.backward(self.act.backward(self.fc2.backward(dout)))

``forward`` runs the kernels of the current backend (fastnn.get_backend()) and keeps their ctx;
``backward(dout)`` returns the gradient of the input and ADDS the parameter gradients into each
``Parameter.grad`` (allocating it on first use), so gradients of several backward calls
accumulate until ``zero_grad()``.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ..reference._checks import FLOAT_TYPES as _FLOAT_TYPES, float_array

__all__ = ["Parameter", "Module", "StateDictError", "IncompatibleKeys"]


def _as_float_array(value, what):
    """value as a C-contiguous float32/float64 ndarray (a copy only when needed)."""
    value = float_array(value, what)   # TypeError, as the kernels', unless a float ndarray
    if not value.dtype.isnative:
        value = value.astype(value.dtype.newbyteorder("="))
    if not (value.flags.c_contiguous and value.flags.writeable):
        value = np.array(value, order="C", copy=True)
    return value


class Parameter:
    """A trainable array: ``data`` (a C-contiguous, writeable float32/float64 ndarray, updated in
    place by the optimizers) and ``grad`` (None, or an ndarray of data's shape and dtype).

    ``Parameter(np.zeros((3, 4), np.float32))``; a non-contiguous, read-only or byte-swapped
    array is copied, an array of any other dtype raises TypeError (nothing is silently converted).
    """
    __slots__ = ("_data", "_grad", "requires_grad")

    def __init__(self, data, requires_grad=True):
        self._data = _as_float_array(data, "Parameter data")
        self._grad = None
        self.requires_grad = bool(requires_grad)

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        self._data = _as_float_array(value, "Parameter data")

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, np.ndarray):
                raise TypeError(f"Parameter grad must be None or a numpy.ndarray, got {type(value).__name__}")
            if value.shape != self._data.shape or value.dtype != self._data.dtype:
                raise ValueError(f"Parameter grad must have the data's shape {self._data.shape} and "
                                 f"dtype {self._data.dtype}, got {value.shape} {value.dtype}")
        self._grad = value

    def accumulate_grad(self, g):
        """``grad += g``; the first call (grad None) takes g itself, which the caller hands over."""
        if self._grad is None:
            self._grad = g
        else:
            self._grad += g

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    def numpy(self):
        """The data array itself (not a copy)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        if dtype is None or np.dtype(dtype) == self._data.dtype:
            return self._data.copy() if copy else self._data
        return self._data.astype(dtype)

    def __repr__(self):
        return f"Parameter(shape={self._data.shape}, dtype={self._data.dtype})"


class StateDictError(KeyError):
    """load_state_dict(strict=True) found missing or unexpected keys."""

    def __str__(self):   # KeyError quotes its message; this one is meant to be read
        return str(self.args[0])


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _to_numpy(value, key):
    """A state_dict value as an ndarray: numpy arrays as they are, torch tensors via .numpy()."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):   # a torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    if isinstance(value, Parameter):
        return value.data
    raise TypeError(f"state_dict[{key!r}] must be a numpy.ndarray, got {type(value).__name__}")


class Module:
    """Base class of every layer and model.

    Subclasses set their Parameters, buffers (``register_buffer``) and sub-Modules as
    attributes in ``__init__`` (after ``super().__init__()``) and define ``forward(*inputs)``
    and ``backward(dout)``. Calling the module calls ``forward``.
    """

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_modules"] = OrderedDict()
        d["training"] = True

    # -- attribute registration (as torch.nn.Module.__setattr__) --------------------------------
    # Parameters, buffers and sub-modules live in the three ordered tables (_parameters,
    # _buffers, _modules), which give state_dict its order, AND in the instance __dict__, so
    # that ``self.weight`` is a plain attribute read: a lookup that has to fail over to
    # __getattr__ costs microseconds on every layer call. _register keeps the two in step.
    def _register(self, table, name, value):
        d = self.__dict__
        for other in ("_parameters", "_buffers", "_modules"):
            if other != table:
                d[other].pop(name, None)
        d[table][name] = value
        d[name] = value

    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"cannot assign {name!r} before {type(self).__name__}.__init__ "
                                 f"has called super().__init__()")
        if isinstance(value, Parameter):
            self._register("_parameters", name, value)
        elif isinstance(value, Module):
            self._register("_modules", name, value)
        elif name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} "
                                f"(a Parameter or None is required)")
            self._register("_parameters", name, None)
        elif name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r} "
                                f"(a Module or None is required)")
            self._register("_modules", name, None)
        elif name in d["_buffers"]:
            if value is not None and not isinstance(value, np.ndarray):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r} "
                                f"(an ndarray or None is required)")
            self._register("_buffers", name, value)
        else:
            d[name] = value

    def __getattr__(self, name):   # only called when normal lookup fails
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Add a Parameter (or None, a placeholder such as an absent bias) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{name!r} must be a Parameter or None, got {type(param).__name__}")
        self._register("_parameters", name, param)

    def register_buffer(self, name, array, persistent=True):
        """Add an array the module keeps but does not train (saved in state_dict when persistent)."""
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(f"buffer {name!r} must be an ndarray or None, got {type(array).__name__}")
        self._register("_buffers", name, array)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name, module):
        """Add a sub-Module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{name!r} must be a Module or None, got {type(module).__name__}")
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"module name must be a non-empty string without '.', got {name!r}")
        self._register("_modules", name, module)

    def _set_children(self, items):
        """Replace every sub-module by ``items`` (name, module) pairs, in order (Sequential's
        insert and delete use it)."""
        d = self.__dict__
        for name in d["_modules"]:
            d.pop(name, None)
        d["_modules"].clear()
        for name, module in items:
            self.add_module(name, module)

    # -- forward / backward ---------------------------------------------------------------------
    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, dout):
        """Gradient of the last forward's input given ``dout``; adds parameter gradients into
        ``Parameter.grad``."""
        raise NotImplementedError(f"{type(self).__name__} does not define backward(): a Module "
                                  f"subclass writes its own, calling its sub-modules' backward "
                                  f"in reverse order")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    def __init_subclass__(cls, **kwargs):
        # Calling a module is calling its forward: make ``__call__`` the subclass's forward
        # itself, which saves a Python frame on every layer call. A class that defines its own
        # __call__ (or inherits one that is not a forward) keeps it.
        super().__init_subclass__(**kwargs)
        if "__call__" not in cls.__dict__:
            owner = next(c for c in cls.__mro__ if "__call__" in c.__dict__)
            if owner is Module or owner.__dict__.get("_call_is_forward", False):
                cls.__call__ = cls.forward
                cls._call_is_forward = True

    def _saved(self):
        """(ctx, backend) of the last forward, or a clear error when there was none."""
        ctx = self.__dict__.get("_ctx")
        if ctx is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        return ctx, self.__dict__["_backend"]

    def _accumulate_weight_bias(self, dw, db):
        """Add a kernel's (dweight, dbias) into self.weight.grad / self.bias.grad; a None
        gradient (no affine weight, no bias) adds nothing."""
        if dw is not None:
            self.weight.accumulate_grad(dw)
        if db is not None:
            self.bias.accumulate_grad(db)

    def _save(self, ctx, backend):
        d = self.__dict__
        d["_ctx"] = ctx
        d["_backend"] = backend

    # what the last forward left for backward: kernel ctx objects and the backend module are not
    # picklable, and a copy of a module starts with no pending backward
    _TRANSIENT = ("_ctx", "_backend", "_lead")

    def __getstate__(self):
        state = dict(self.__dict__)
        for key in self._TRANSIENT:
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    # -- traversal ------------------------------------------------------------------------------
    def named_modules(self, prefix="", memo=None):
        """Yield ``(name, module)`` for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is not None:
                yield from mod.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def _module_list(self):
        """This module and every descendant, each once, in named_modules' order (no names: the
        fast path of parameters() and zero_grad(), which run every training step)."""
        out, seen, stack = [], set(), [self]
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            out.append(m)
            stack.extend(c for c in reversed(m._modules.values()) if c is not None)
        return out

    def modules(self):
        return iter(self._module_list())

    def named_children(self):
        seen = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        """Yield ``(name, Parameter)`` with PyTorch's dotted names ("0.weight", "fc1.bias");
        a Parameter shared by two modules is yielded once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        """Every Parameter of this module (and its descendants when recurse), each once, in
        named_parameters' order."""
        seen = set()
        for m in (self._module_list() if recurse else [self]):
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix="", recurse=True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- training state -------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Clear every parameter gradient: set it to None (default; the next backward allocates
        it afresh) or fill it with zeros."""
        for p in self.parameters():
            if set_to_none:
                p._grad = None
            elif p._grad is not None:
                p._grad.fill(0)

    def train(self, mode=True):
        """Set training mode (Dropout active) on this module and all descendants; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter and floating buffer to ``dtype`` (np.float32 or np.float64)
        in place; gradients are dropped. Returns self."""
        dtype = np.dtype(dtype)
        if dtype.type not in _FLOAT_TYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None and p.dtype != dtype:
                    p.data = p.data.astype(dtype)
                    p.grad = None
            for name, b in m._buffers.items():
                if b is not None and b.dtype.kind == "f":
                    m._register("_buffers", name, b.astype(dtype))
            if "dtype" in m.__dict__:
                m.__dict__["dtype"] = dtype
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # -- state_dict -----------------------------------------------------------------------------
    def state_dict(self, prefix=""):
        """An OrderedDict ``name -> ndarray`` of every parameter and persistent buffer, with
        PyTorch's key names. Values are copies: later training does not change them."""
        out = OrderedDict()
        for mod_prefix, mod in self.named_modules(prefix.rstrip(".")):
            skip = mod.__dict__.get("_non_persistent", ())
            for table in (mod._parameters, mod._buffers):
                for name, value in table.items():
                    if value is None or name in skip:
                        continue
                    key = f"{mod_prefix}.{name}" if mod_prefix else name
                    out[key] = np.array(value.data if isinstance(value, Parameter) else value, copy=True)
        return out

    def _state_targets(self):
        """name -> (owning module, attribute, Parameter or ndarray), for load_state_dict."""
        targets = OrderedDict()
        for mod_prefix, mod in self.named_modules():
            skip = mod.__dict__.get("_non_persistent", ())
            for table in (mod._parameters, mod._buffers):
                for name, value in table.items():
                    if value is not None and name not in skip:
                        targets[f"{mod_prefix}.{name}" if mod_prefix else name] = (mod, name, value)
        return targets

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays from ``state_dict`` (name -> ndarray, or torch tensors) into the
        parameters and buffers, in place (optimizers holding the Parameters keep working).

        Every value must have the target's shape (ValueError) and dtype (TypeError: no silent
        conversion). With ``strict`` (default), missing or unexpected keys raise StateDictError
        (a KeyError) before anything is copied. Returns ``IncompatibleKeys(missing, unexpected)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"state_dict must be a mapping of name -> array, got {type(state_dict).__name__}")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing key(s): " + ", ".join(map(repr, missing)))
            if unexpected:
                parts.append("unexpected key(s): " + ", ".join(map(repr, unexpected)))
            raise StateDictError(f"error loading state_dict into {type(self).__name__}: " + "; ".join(parts))
        arrays = {}
        for key, (mod, name, target) in targets.items():
            if key not in state_dict:
                continue
            value = _to_numpy(state_dict[key], key)
            tarr = target.data if isinstance(target, Parameter) else target
            if value.shape != tarr.shape:
                raise ValueError(f"state_dict[{key!r}] has shape {value.shape} but the model's "
                                 f"{key} has shape {tarr.shape}")
            if value.dtype != tarr.dtype:
                raise TypeError(f"state_dict[{key!r}] has dtype {value.dtype} but the model's {key} "
                                f"has dtype {tarr.dtype}; convert the model (.to(dtype)) or the arrays")
            arrays[key] = value
        for key, value in arrays.items():   # all checked: now copy
            mod, name, target = targets[key]
            np.copyto(target.data if isinstance(target, Parameter) else target, value)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path):
        """Write ``state_dict()`` to an .npz file (numpy adds the suffix when it is missing)."""
        np.savez(path, **self.state_dict())

    def load(self, path, strict=True):
        """Load parameters written by ``save(path)``; see load_state_dict."""
        with np.load(path, allow_pickle=False) as f:
            return self.load_state_dict({k: f[k] for k in f.files}, strict=strict)

    # -- printing -------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (its constructor arguments)."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            text = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {text}")
        main = type(self).__name__ + "("
        if not self._modules:
            return main + (extra if extra else "") + ")"
        return main + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))
