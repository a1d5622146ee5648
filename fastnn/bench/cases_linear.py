"""Benchmark cases for the linear family."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable, kernel_run


def _inputs(n, fin, fout, dtype):
    """x (n, fin), w (fout, fin) scaled by 1/sqrt(fin), b (fout,), dy (n, fout); seeded."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, fin)).astype(dtype)
    w = (rng.standard_normal((fout, fin)) / np.sqrt(fin)).astype(dtype)
    b = rng.standard_normal(fout).astype(dtype)
    dy = rng.standard_normal((n, fout)).astype(dtype)
    return x, w, b, dy


def _linear_fwd(n, fin, fout, act, dtype=np.float32):
    def make(impl):
        x, w, b, _ = _inputs(n, fin, fout, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tw, tb = map(torch.from_numpy, (x, w, b))
            f = {"relu": torch.relu, None: lambda t: t}[act]
            def run():
                with torch.no_grad():
                    return f(torch.nn.functional.linear(tx, tw, tb))
            return run
        if impl == "numpy-naive":
            return lambda: np.maximum(x @ w.T + b, 0) if act == "relu" else x @ w.T + b
        return kernel_run(backend(impl), "linear", x, w, b, act)
    return make


def _linear_fwd_bwd(n, fin, fout, act, dtype=np.float32):
    def make(impl):
        x, w, b, dy = _inputs(n, fin, fout, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x).requires_grad_()
            tw = torch.from_numpy(w).requires_grad_()
            tb = torch.from_numpy(b).requires_grad_()
            tdy = torch.from_numpy(dy)
            def run():
                y = torch.relu(torch.nn.functional.linear(tx, tw, tb))
                return torch.autograd.grad(y, (tx, tw, tb), tdy)
            return run
        return kernel_run(backend(impl), "linear", x, w, b, act, dy=dy)
    return make


def _flops(n, fin, fout):
    """x @ w.T: 2 n fin fout (the backward's dx and dw are two more of the same)."""
    return 2.0 * n * fin * fout


register(Case("linear", "linear_forward relu 64x784->256", _linear_fwd(64, 784, 256, "relu"),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 64, "in": 784, "out": 256},
              flops=_flops(64, 784, 256)))
register(Case("linear", "linear fwd+bwd relu 64x784->256", _linear_fwd_bwd(64, 784, 256, "relu"),
              params={"N": 64, "in": 784, "out": 256}, flops=3 * _flops(64, 784, 256)))
register(Case("linear", "linear_forward 10 elements (call overhead)", _linear_fwd(1, 10, 1, None),
              impls=("compiled", "reference", "numpy-naive", "torch"), params={"N": 1}))
for _n in (16, 256, 1024):
    register(Case("linear", f"linear_forward relu {_n}x784->256", _linear_fwd(_n, 784, 256, "relu"),
                  quick=False, params={"N": _n, "in": 784, "out": 256}, flops=_flops(_n, 784, 256)))
