"""numpy twin of fastnn._optim: optimizer updates, in place, with torch.optim's formulas.

Each function runs torch's single-tensor algorithm as whole-array numpy operations in torch's
order (so float32 rounds like torch's float32 and the compiled kernel), updating param and the
state buffers in place. The checks and messages are those of the compiled binding.
"""
import math
import operator

import numpy as np

from ._checks import float_array, real, flag

__all__ = ["sgd_step", "adagrad_step", "rmsprop_step", "adam_step", "adamw_step"]


# ------------------------------------------------------------------------------ argument checks

def _not_inplace_reason(a):
    if not a.flags.writeable:
        return "read-only"
    if not a.flags.c_contiguous:
        return "non-contiguous"
    if not a.dtype.isnative:
        return "byte-swapped"
    return "misaligned"


def _check_inplace(a, name):
    f = a.flags
    if not (f.c_contiguous and f.writeable and f.aligned and a.dtype.isnative):
        raise ValueError(f"{name} is updated in place, so it must be a writeable C-contiguous "
                         f"array in native byte order; got a {_not_inplace_reason(a)} array")


def _same_dtype(param, a, name):
    # compares the float type, not the byte order: a byte-swapped grad is a float64 grad
    float_array(a, name)
    if a.dtype.type is not param.dtype.type:
        raise TypeError(f"{name} has dtype {a.dtype} but param has dtype {param.dtype}; "
                        f"mixed dtypes are not converted")


def _check_shape(a, param, name):
    if a.shape != param.shape:
        raise ValueError(f"{name} has shape {a.shape} but param has shape {param.shape}")


def _param(param):
    float_array(param, "param")
    _check_inplace(param, "param")
    return param


def _state(s, param, name):
    _same_dtype(param, s, name)
    _check_shape(s, param, name)
    _check_inplace(s, name)
    return s


def _grad(grad, param):
    _same_dtype(param, grad, "grad")
    _check_shape(grad, param, "grad")
    return grad


def _check_disjoint(written, names):
    for i in range(len(written)):
        for j in range(i):
            if np.may_share_memory(written[i], written[j]):
                raise ValueError(f"{names[i]} and {names[j]} share memory; each state buffer "
                                 f"must be an array of its own")


def _grad_apart(grad, written):
    """grad as it is on entry, copied when the update writes memory it shares."""
    if any(np.may_share_memory(grad, w) for w in written):
        return grad.copy()
    return grad


def _nonneg(v, name, what):
    """v (the argument `name`) as a float >= 0: TypeError naming the argument, else ValueError
    with torch's wording ("Invalid learning rate: -1")."""
    v = real(v, name)
    if not v >= 0:
        raise ValueError(f"Invalid {what}: {v}")
    return v


def _step(step):
    try:
        step = operator.index(step)
    except TypeError:
        raise TypeError(f"step must be an int, got {type(step).__name__}") from None
    if step >= 2**63:
        raise ValueError(f"step = {step} does not fit in a 64-bit integer")
    if step < 1:
        raise ValueError(f"step must be >= 1 (steps count from 1), got {step}")
    return step


def _lerp_(a, b, w):
    """a = lerp(a, b, w) in place, with torch's two branches."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        np.subtract(b, (b - a) * (1 - a.dtype.type(w)), out=a)


def _decayed_grad(param, grad, weight_decay, maximize):
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + weight_decay * param
    return g


# ---------------------------------------------------------------------------------------- SGD

def sgd_step(param, grad, momentum_buf, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0, maximize=False, first_step=False):
    """One step of torch.optim.SGD, in place (numpy twin of fastnn.functional.sgd_step).

    ``g = grad + weight_decay * param`` (``-grad`` with maximize); with momentum != 0
    ``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` when first_step),
    ``g = g + momentum * buf`` (nesterov) or ``buf``; then ``param -= lr * g``.
    param (any shape, float32/float64, C-contiguous writeable), grad (same dtype/shape, any
    layout), momentum_buf (same, or None when momentum == 0). Returns None.
    """
    lr = _nonneg(lr, "lr", "learning rate")
    momentum = _nonneg(momentum, "momentum", "momentum value")
    weight_decay = _nonneg(weight_decay, "weight_decay", "weight_decay value")
    dampening = real(dampening, "dampening")
    nesterov, maximize = flag(nesterov, "nesterov"), flag(maximize, "maximize")
    first_step = flag(first_step, "first_step")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")
    p = _param(param)
    _grad(grad, p)
    if momentum_buf is not None:
        _state(momentum_buf, p, "momentum_buf")
    elif momentum != 0:
        raise ValueError("momentum_buf is required when momentum != 0")
    written = [p]
    if momentum != 0:
        written.append(momentum_buf)
        _check_disjoint(written, ["param", "momentum_buf"])
    grad = _grad_apart(grad, written)

    g = _decayed_grad(p, grad, weight_decay, maximize)
    if momentum != 0:
        buf = momentum_buf
        if first_step:
            buf[...] = g
        else:
            buf *= momentum
            buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    p -= lr * g


# ------------------------------------------------------------------------------------ Adagrad

def adagrad_step(param, grad, state_sum, step, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                 eps=1e-10, maximize=False):
    """One step of torch.optim.Adagrad, in place (numpy twin of fastnn.functional.adagrad_step).

    ``g = grad + weight_decay * param``; ``state_sum += g * g``;
    ``param -= clr * g / (sqrt(state_sum) + eps)``, ``clr = lr / (1 + (step - 1) * lr_decay)``;
    step counts from 1. Arrays as in sgd_step; state_sum updated in place. Returns None.
    """
    step = _step(step)
    lr = _nonneg(lr, "lr", "learning rate")
    lr_decay = _nonneg(lr_decay, "lr_decay", "lr_decay value")
    weight_decay = _nonneg(weight_decay, "weight_decay", "weight_decay value")
    eps = _nonneg(eps, "eps", "epsilon value")
    p = _param(param)
    _grad(grad, p)
    s = _state(state_sum, p, "state_sum")
    _check_disjoint([p, s], ["param", "state_sum"])
    grad = _grad_apart(grad, [p, s])

    g = _decayed_grad(p, grad, weight_decay, flag(maximize, "maximize"))
    clr = lr / (1 + (step - 1) * lr_decay)
    s += g * g
    std = np.sqrt(s)
    std += eps
    p += -clr * (g / std)


# ------------------------------------------------------------------------------------ RMSprop

def rmsprop_step(param, grad, square_avg, momentum_buf, grad_avg, lr=0.01, alpha=0.99, eps=1e-8,
                 weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """One step of torch.optim.RMSprop, in place (numpy twin of fastnn.functional.rmsprop_step).

    ``g = grad + weight_decay * param``; ``square_avg = alpha * square_avg + (1 - alpha) * g * g``;
    centered: ``grad_avg = lerp(grad_avg, g, 1 - alpha)``,
    ``avg = sqrt(square_avg - grad_avg**2) + eps``, else ``sqrt(square_avg) + eps``;
    momentum > 0: ``buf = momentum * buf + g / avg``, ``param -= lr * buf``; else
    ``param -= lr * g / avg``. momentum_buf may be None when momentum == 0, grad_avg when not
    centered. Returns None.
    """
    lr = _nonneg(lr, "lr", "learning rate")
    eps = _nonneg(eps, "eps", "epsilon value")
    momentum = _nonneg(momentum, "momentum", "momentum value")
    weight_decay = _nonneg(weight_decay, "weight_decay", "weight_decay value")
    alpha = _nonneg(alpha, "alpha", "alpha value")
    centered, maximize = flag(centered, "centered"), flag(maximize, "maximize")
    p = _param(param)
    _grad(grad, p)
    sq = _state(square_avg, p, "square_avg")
    if momentum_buf is not None:
        _state(momentum_buf, p, "momentum_buf")
    elif momentum > 0:
        raise ValueError("momentum_buf is required when momentum > 0")
    if grad_avg is not None:
        _state(grad_avg, p, "grad_avg")
    elif centered:
        raise ValueError("grad_avg is required when centered=True")
    written, names = [p, sq], ["param", "square_avg"]
    if momentum > 0:
        written.append(momentum_buf)
        names.append("momentum_buf")
    if centered:
        written.append(grad_avg)
        names.append("grad_avg")
    _check_disjoint(written, names)
    grad = _grad_apart(grad, written)

    g = _decayed_grad(p, grad, weight_decay, maximize)
    sq *= alpha
    sq += (1 - alpha) * (g * g)
    if centered:
        _lerp_(grad_avg, g, 1 - alpha)
        avg = np.sqrt(sq - grad_avg * grad_avg)
    else:
        avg = np.sqrt(sq)
    avg += eps
    if momentum > 0:
        momentum_buf *= momentum
        momentum_buf += g / avg
        p -= lr * momentum_buf
    else:
        p -= lr * (g / avg)


# -------------------------------------------------------------------------------- Adam, AdamW

def _adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
          max_exp_avg_sq, maximize, decoupled):
    step = _step(step)
    lr = _nonneg(lr, "lr", "learning rate")
    eps = _nonneg(eps, "eps", "epsilon value")
    beta1, beta2 = real(beta1, "beta1"), real(beta2, "beta2")
    if not 0 <= beta1 < 1:
        raise ValueError(f"Invalid beta parameter at index 0: {beta1}")
    if not 0 <= beta2 < 1:
        raise ValueError(f"Invalid beta parameter at index 1: {beta2}")
    weight_decay = _nonneg(weight_decay, "weight_decay", "weight_decay value")
    amsgrad, maximize = flag(amsgrad, "amsgrad"), flag(maximize, "maximize")
    p = _param(param)
    _grad(grad, p)
    m = _state(exp_avg, p, "exp_avg")
    v = _state(exp_avg_sq, p, "exp_avg_sq")
    if max_exp_avg_sq is not None:
        _state(max_exp_avg_sq, p, "max_exp_avg_sq")
    elif amsgrad:
        raise ValueError("max_exp_avg_sq is required when amsgrad=True")
    written, names = [p, m, v], ["param", "exp_avg", "exp_avg_sq"]
    if amsgrad:
        written.append(max_exp_avg_sq)
        names.append("max_exp_avg_sq")
    _check_disjoint(written, names)
    grad = _grad_apart(grad, written)

    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    _lerp_(m, g, 1 - beta1)
    v *= beta2
    v += (1 - beta2) * (g * g)
    step_size = lr / (1 - beta1 ** step)
    bc2_sqrt = math.sqrt(1 - beta2 ** step)
    if amsgrad:
        np.maximum(max_exp_avg_sq, v, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = np.sqrt(v)
    denom /= bc2_sqrt
    denom += eps
    p += -step_size * (m / denom)


def adam_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, amsgrad=False, max_exp_avg_sq=None, maximize=False):
    """One step of torch.optim.Adam, in place (numpy twin of fastnn.functional.adam_step).

    ``g = grad + weight_decay * param``; ``exp_avg = lerp(exp_avg, g, 1 - beta1)``;
    ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g``; AMSGrad keeps
    ``max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq)`` and uses it below;
    ``param -= lr / (1 - beta1**step) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2**step) + eps)``.
    step counts from 1. Returns None.
    """
    _adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
          max_exp_avg_sq, maximize, False)


def adamw_step(param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, beta1=0.9, beta2=0.999,
               eps=1e-8, weight_decay=0.01, amsgrad=False, max_exp_avg_sq=None, maximize=False):
    """One step of torch.optim.AdamW, in place (numpy twin of fastnn.functional.adamw_step):
    adam_step with decoupled weight decay (``param *= 1 - lr * weight_decay`` first).
    Returns None."""
    _adam(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
          max_exp_avg_sq, maximize, True)
