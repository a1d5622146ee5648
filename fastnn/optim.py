"""Optimizers with PyTorch's names, signatures, defaults and update formulas.

    opt = fastnn.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        ...backward pass fills each parameter's .grad...
        opt.step()

A parameter is any object with ``.data`` (a float32/float64 C-contiguous numpy array, updated in
place) and ``.grad`` (an array of the same dtype and shape, or None: such parameters are skipped
by step()); fastnn.nn.Parameter is one. ``params`` is an iterable of parameters or of param-group
dicts (``{"params": [...], "lr": ...}``) whose missing options take the constructor's values.

Each step() runs one fused kernel per parameter (fastnn.functional.<opt>_step, one pass over
memory) on the backend current at that call: ``with fastnn.use_backend("reference"):`` runs the
numpy twins. State buffers are created lazily, on a parameter's first step with a gradient, as
torch does; state_dict()/load_state_dict() use torch's structure
``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indexes]}]}``.
"""
import numpy as np

from .backend import get_backend

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]


class _Required:
    """Marks a hyperparameter without a default (a group must give it)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _is_param(p):
    return isinstance(getattr(p, "data", None), np.ndarray) and hasattr(p, "grad")


def _nonneg(value, what):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what}: {value}")


def _unsupported(**flags):
    """torch's options that change how, not what, it computes: the fused kernel is always used,
    so foreach/fused are accepted and ignored; differentiable and capturable cannot be had."""
    for name in ("differentiable", "capturable"):
        if flags.get(name):
            raise ValueError(f"{name}=True is not supported by fastnn.optim (numpy has no autograd "
                             f"or graph capture)")


class _ParamState:
    """The per-parameter state, keyed by parameter identity (parameters need not be hashable):
    ``opt.state[p]`` is p's dict of buffers, created empty on first access."""

    def __init__(self):
        self._items = {}   # id(p) -> (p, state dict); holding p keeps its id unique

    def __getitem__(self, p):
        item = self._items.get(id(p))
        if item is None:
            item = self._items[id(p)] = (p, {})
        return item[1]

    def __contains__(self, p):
        return id(p) in self._items

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return (p for p, _ in self._items.values())

    def items(self):
        return list(self._items.values())

    def get(self, p, default=None):
        item = self._items.get(id(p))
        return default if item is None else item[1]

    def clear(self):
        self._items.clear()

    def __repr__(self):
        return f"<optimizer state of {len(self)} parameters>"


class Optimizer:
    """Base class: parameter groups, state, zero_grad, step, state_dict, load_state_dict.

    Subclasses set ``defaults`` (hyperparameter name -> default), implement
    ``_check_group(group)`` (ValueError for bad values) and ``_update(backend, group, p, state)``
    (one parameter's step, through backend.<opt>_step).
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = _ParamState()
        self.param_groups = []
        if isinstance(params, np.ndarray) or _is_param(params) or isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"parameters or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):      # list() below would hide it from add_param_group
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of parameters in sets will change between runs. "
                            "Please use a list instead.")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a dict ``{"params": [...], option: value, ...}``; options it omits take the
        optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("param_group must have a 'params' entry")
        if _is_param(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of parameters in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not _is_param(p):
                raise TypeError("optimizer can only optimize objects with .data (a numpy.ndarray) "
                                f"and .grad, but one of the params is {type(p).__name__}")
            if p.data.dtype.type not in (np.float32, np.float64):
                raise TypeError(f"optimizer can only optimize float32 or float64 parameters, "
                                f"got {p.data.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group):
        pass

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.flags.writeable:
                    p.grad.fill(0)
                else:
                    p.grad = np.zeros_like(p.grad)

    def step(self, closure=None):
        """One update of every parameter that has a gradient (those whose .grad is None are
        skipped). ``closure``, if given, is called first and its value returned (torch's API)."""
        loss = closure() if closure is not None else None
        backend = get_backend()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(backend, group, p, self.state[p])
        return loss

    def _update(self, backend, group, p, state):
        raise NotImplementedError

    # --------------------------------------------------------------------------- state dicts

    def state_dict(self):
        """``{"state": {index: {name: array or number}}, "param_groups": [...]}`` as in torch:
        parameters are numbered in group order and groups list their indexes. The arrays are
        the live buffers (not copies), as torch returns its tensors."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what state_dict() returned (or torch.optim's state_dict of the same
        optimizer: tensors are converted). Buffers are copied, cast to each parameter's dtype."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        new_state = _ParamState()
        saved_state = state_dict["state"]
        for group, saved in zip(self.param_groups, saved_groups):
            for p, key in zip(group["params"], saved["params"]):
                if key not in saved_state:
                    continue
                state = new_state[p]
                for name, value in saved_state[key].items():
                    state[name] = self._load_value(p, name, value)
        for group, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = v
        self.state = new_state

    @staticmethod
    def _load_value(p, name, value):
        if value is None:
            return None
        if name == "step":
            return int(float(value))
        if hasattr(value, "detach"):          # a torch tensor
            value = value.detach().cpu().numpy()
        arr = np.array(value, dtype=p.data.dtype, order="C", copy=True)
        if arr.shape != p.data.shape:
            raise ValueError(f"state {name!r} has shape {arr.shape} but its parameter has shape "
                             f"{p.data.shape}")
        return arr

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _zeros(p):
    return np.zeros(p.data.shape, p.data.dtype)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
    decay: torch.optim.SGD's update (the momentum buffer starts as the first gradient)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        _unsupported(differentiable=differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, g):
        _nonneg(g["lr"], "learning rate")
        _nonneg(g["momentum"], "momentum value")
        _nonneg(g["weight_decay"], "weight_decay value")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _update(self, F, g, p, state):
        buf, first = None, False
        if g["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf, first = _zeros(p), True
        F.sgd_step(p.data, p.grad, buf, g["lr"], g["momentum"], g["dampening"], g["nesterov"],
                   g["weight_decay"], g["maximize"], first)
        if first:
            state["momentum_buffer"] = buf


class Adagrad(Optimizer):
    """Adagrad: torch.optim.Adagrad's update, with lr_decay and initial_accumulator_value."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _unsupported(differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize))
        for group in self.param_groups:     # torch creates Adagrad's state up front
            for p in group["params"]:
                self._init_state(group, p, self.state[p])

    def _check_group(self, g):
        _nonneg(g["lr"], "learning rate")
        _nonneg(g["lr_decay"], "lr_decay value")
        _nonneg(g["weight_decay"], "weight_decay value")
        _nonneg(g["initial_accumulator_value"], "initial_accumulator_value value")
        _nonneg(g["eps"], "epsilon value")

    @staticmethod
    def _init_state(g, p, state):
        state["step"] = 0
        state["sum"] = np.full(p.data.shape, g["initial_accumulator_value"], p.data.dtype)

    def _update(self, F, g, p, state):
        if "sum" not in state:
            self._init_state(g, p, state)
        step = state["step"] + 1
        F.adagrad_step(p.data, p.grad, state["sum"], step, g["lr"], g["lr_decay"],
                       g["weight_decay"], g["eps"], g["maximize"])
        state["step"] = step


class RMSprop(Optimizer):
    """RMSprop: torch.optim.RMSprop's update, with momentum and the centered variant."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _unsupported(differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      maximize=maximize))

    def _check_group(self, g):
        _nonneg(g["lr"], "learning rate")
        _nonneg(g["eps"], "epsilon value")
        _nonneg(g["momentum"], "momentum value")
        _nonneg(g["weight_decay"], "weight_decay value")
        _nonneg(g["alpha"], "alpha value")

    def _update(self, F, g, p, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = _zeros(p)
        if g["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = _zeros(p)
        if g["centered"] and "grad_avg" not in state:
            state["grad_avg"] = _zeros(p)
        step = state["step"] + 1
        F.rmsprop_step(p.data, p.grad, state["square_avg"], state.get("momentum_buffer"),
                       state.get("grad_avg"), g["lr"], g["alpha"], g["eps"], g["weight_decay"],
                       g["momentum"], g["centered"], g["maximize"])
        state["step"] = step


class Adam(Optimizer):
    """Adam (and AMSGrad): torch.optim.Adam's update, bias corrections counting steps from 1.
    ``decoupled_weight_decay=True`` makes it AdamW, as in torch."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _unsupported(differentiable=differentiable, capturable=capturable)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__iter__"):
            raise TypeError(f"betas must be a pair of floats (beta1, beta2), got {type(betas).__name__}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, g):
        _nonneg(g["lr"], "learning rate")
        _nonneg(g["eps"], "epsilon value")
        betas = g["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _nonneg(g["weight_decay"], "weight_decay value")

    def _update(self, F, g, p, state):
        if not state:
            state["step"] = 0
            state["exp_avg"] = _zeros(p)
            state["exp_avg_sq"] = _zeros(p)
        if g["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = _zeros(p)
        step = state["step"] + 1
        kernel = F.adamw_step if g["decoupled_weight_decay"] else F.adam_step
        beta1, beta2 = g["betas"]
        kernel(p.data, p.grad, state["exp_avg"], state["exp_avg_sq"], step, g["lr"], beta1, beta2,
               g["eps"], g["weight_decay"], g["amsgrad"], state.get("max_exp_avg_sq"),
               g["maximize"])
        state["step"] = step


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (``param *= 1 - lr * weight_decay`` each step),
    torch.optim.AdamW's update and defaults (weight_decay=0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         capturable=capturable, differentiable=differentiable,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
