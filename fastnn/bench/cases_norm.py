"""Benchmark cases for the norm family: batch norm (training mode, affine, running statistics)
and layer norm (affine), forward alone and forward + backward, float32."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable


def _inputs(shape, pshape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(pshape).astype(dtype)
    b = rng.standard_normal(pshape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    return x, g, b, dy


def _batch_norm(shape, backward, dtype=np.float32):
    def make(impl):
        c = shape[1]
        x, g, b, dy = _inputs(shape, (c,), dtype)
        rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tg, tb, tdy = map(torch.from_numpy, (x, g, b, dy))
            trm, trv = torch.from_numpy(rm), torch.from_numpy(rv)
            if not backward:
                def run():
                    with torch.no_grad():
                        return torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, True, 0.1, 1e-5)
                return run
            tx.requires_grad_()
            tg.requires_grad_()
            tb.requires_grad_()
            def run():
                y = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, True, 0.1, 1e-5)
                return torch.autograd.grad(y, (tx, tg, tb), tdy)
            return run
        F = backend(impl)
        if not backward:
            return lambda: F.batch_norm_forward(x, g, b, rm, rv, True, 0.1, 1e-5)
        def run():
            y, ctx = F.batch_norm_forward(x, g, b, rm, rv, True, 0.1, 1e-5)
            return F.batch_norm_backward(dy, ctx)
        return run
    return make


def _layer_norm(shape, backward, dtype=np.float32):
    def make(impl):
        d = shape[-1]
        x, g, b, dy = _inputs(shape, (d,), dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tg, tb, tdy = map(torch.from_numpy, (x, g, b, dy))
            if not backward:
                def run():
                    with torch.no_grad():
                        return torch.nn.functional.layer_norm(tx, (d,), tg, tb, 1e-5)
                return run
            tx.requires_grad_()
            tg.requires_grad_()
            tb.requires_grad_()
            def run():
                y = torch.nn.functional.layer_norm(tx, (d,), tg, tb, 1e-5)
                return torch.autograd.grad(y, (tx, tg, tb), tdy)
            return run
        F = backend(impl)
        if not backward:
            return lambda: F.layer_norm_forward(x, g, b, 1e-5)
        def run():
            y, ctx = F.layer_norm_forward(x, g, b, 1e-5)
            return F.layer_norm_backward(dy, ctx)
        return run
    return make


def _label(shape):
    return "x".join(map(str, shape))


for _shape in ((64, 32, 28, 28), (8, 64, 56, 56)):
    _p = dict(zip("NCHW", _shape))
    register(Case("norm", f"batch_norm_forward train {_label(_shape)}", _batch_norm(_shape, False), params=_p))
    register(Case("norm", f"batch_norm fwd+bwd train {_label(_shape)}", _batch_norm(_shape, True), params=_p))
register(Case("norm", "batch_norm_forward train 256x1024", _batch_norm((256, 1024), False),
              quick=False, params={"N": 256, "C": 1024}))
register(Case("norm", "batch_norm fwd+bwd train 256x1024", _batch_norm((256, 1024), True),
              quick=False, params={"N": 256, "C": 1024}))
register(Case("norm", "layer_norm_forward 4096x1024", _layer_norm((4096, 1024), False),
              params={"rows": 4096, "D": 1024}))
register(Case("norm", "layer_norm fwd+bwd 4096x1024", _layer_norm((4096, 1024), True),
              params={"rows": 4096, "D": 1024}))
register(Case("norm", "batch_norm_forward 10 elements (call overhead)", _batch_norm((5, 2), False),
              params={"N": 5, "C": 2}))
register(Case("norm", "layer_norm_forward 10 elements (call overhead)", _layer_norm((1, 10), False),
              params={"rows": 1, "D": 10}))
