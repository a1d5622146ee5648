"""Centred finite-difference gradient checks, in float64."""
import numpy as np

__all__ = ["numerical_grad", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def numerical_grad(f, x, dout, eps=1e-6):
    """Centred differences of ``sum(f() * dout)`` with respect to every element of ``x``.

    f: callable of no arguments returning an array (it must read x, which is perturbed in place
    and restored); x: float64 array; dout: array of f()'s shape (a non-uniform upstream gradient
    catches more mistakes than ones). Returns an array of x's shape.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical_grad needs float64 inputs, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = np.sum(np.asarray(f()) * dout)
        flat[i] = old - eps
        fm = np.sum(np.asarray(f()) * dout)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def gradcheck(fn, inputs, dout=None, analytic=None, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0,
              names=None, raise_on_failure=True):
    """Compare analytic gradients with centred finite differences.

    fn(*inputs) -> array; inputs: float64 arrays (copied, never modified); analytic(dout,
    *inputs) -> tuple of gradients, one per input (None to skip an input); dout: the upstream
    gradient (random normal when None). Returns a dict ``name -> max abs error``; raises
    GradcheckError with a per-input report when any error exceeds ``atol + rtol * |numerical|``
    (unless raise_on_failure is False).
    """
    inputs = [np.array(a, dtype=np.float64, copy=True) for a in inputs]
    names = list(names) if names is not None else [f"input{i}" for i in range(len(inputs))]
    out = np.asarray(fn(*inputs))
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = analytic(dout, *inputs)
    report, failures = {}, []
    for name, x, g in zip(names, inputs, grads):
        if g is None:
            continue
        num = numerical_grad(lambda: fn(*inputs), x, dout, eps)
        err = np.abs(np.asarray(g, dtype=np.float64) - num)
        worst = float(err.max()) if err.size else 0.0
        report[name] = worst
        if err.size and np.any(err > atol + rtol * np.abs(num)):
            i = np.unravel_index(np.argmax(err - rtol * np.abs(num)), err.shape)
            failures.append(f"  {name}{list(i)}: analytic {np.asarray(g)[i]:.8g}, numerical {num[i]:.8g}, "
                            f"max abs error {worst:.3g}")
    if failures and raise_on_failure:
        raise GradcheckError("gradient check failed:\n" + "\n".join(failures))
    return report
