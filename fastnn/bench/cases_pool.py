"""Benchmark cases for the pool family (fp32, NCHW)."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable


def _x(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _fwd(op, shape, k, s=None, p=0):
    def make(impl):
        x = _x(shape)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x)
            f = {"max": lambda: torch.nn.functional.max_pool2d(tx, k, s, p),
                 "avg": lambda: torch.nn.functional.avg_pool2d(tx, k, s, p),
                 "global": lambda: torch.nn.functional.adaptive_avg_pool2d(tx, 1)}[op]

            def run():
                with torch.no_grad():
                    return f()
            return run
        F = backend(impl)
        if op == "global":
            return lambda: F.global_avg_pool2d_forward(x)
        fwd = getattr(F, f"{op}_pool2d_forward")
        return lambda: fwd(x, k, s, p)
    return make


def _bwd(op, shape, k, s=None, p=0):
    def make(impl):
        x = _x(shape)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x).requires_grad_()
            ty = {"max": lambda: torch.nn.functional.max_pool2d(tx, k, s, p),
                  "avg": lambda: torch.nn.functional.avg_pool2d(tx, k, s, p),
                  "global": lambda: torch.nn.functional.adaptive_avg_pool2d(tx, 1)}[op]()
            tdy = torch.from_numpy(_x(tuple(ty.shape)))
            return lambda: torch.autograd.grad(ty, (tx,), tdy, retain_graph=True)
        F = backend(impl)
        if op == "global":
            y, ctx = F.global_avg_pool2d_forward(x)
            bwd = F.global_avg_pool2d_backward
        else:
            y, ctx = getattr(F, f"{op}_pool2d_forward")(x, k, s, p)
            bwd = getattr(F, f"{op}_pool2d_backward")
        dy = _x(y.shape)
        return lambda: bwd(dy, ctx)
    return make


_S = (64, 32, 28, 28)
_P = {"N": 64, "C": 32, "H": 28, "k": 2}
register(Case("pool", "max_pool2d_forward 2x2 64x32x28x28", _fwd("max", _S, 2), params=_P))
register(Case("pool", "max_pool2d_backward 2x2 64x32x28x28", _bwd("max", _S, 2), params=_P))
register(Case("pool", "avg_pool2d_forward 2x2 64x32x28x28", _fwd("avg", _S, 2), params=_P))
register(Case("pool", "avg_pool2d_backward 2x2 64x32x28x28", _bwd("avg", _S, 2), params=_P))
register(Case("pool", "max_pool2d_forward 3x3/2 pad 1 64x32x28x28", _fwd("max", _S, 3, 2, 1),
              params=dict(_P, k=3)))
register(Case("pool", "global_avg_pool2d_forward 64x256x7x7", _fwd("global", (64, 256, 7, 7), None),
              params={"N": 64, "C": 256, "H": 7}))
register(Case("pool", "global_avg_pool2d_backward 64x256x7x7", _bwd("global", (64, 256, 7, 7), None),
              params={"N": 64, "C": 256, "H": 7}))
for _n in (1, 8, 64, 256):
    register(Case("pool", f"max_pool2d_forward 2x2 {_n}x32x28x28 (batch scaling)", _fwd("max", (_n, 32, 28, 28), 2),
                  quick=False, params=dict(_P, N=_n)))
    register(Case("pool", f"max_pool2d_backward 2x2 {_n}x32x28x28 (batch scaling)", _bwd("max", (_n, 32, 28, 28), 2),
                  quick=False, params=dict(_P, N=_n)))
