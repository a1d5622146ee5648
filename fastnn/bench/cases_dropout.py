"""Benchmark cases for the dropout family."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable, torch_no_grad, kernel_run


def _dropout(shape, p, with_backward, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(dtype)
        dy = rng.standard_normal(shape).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
            if not with_backward:
                return torch_no_grad(torch, torch.nn.functional.dropout, tx, p, training=True)
            tx.requires_grad_()
            return lambda: torch.autograd.grad(torch.nn.functional.dropout(tx, p, training=True), tx, tdy)
        if impl == "numpy-naive":
            gen = np.random.default_rng(1)
            def run():
                mask = gen.random(shape) >= p
                y = np.where(mask, x / (1 - p), 0)
                return (y, np.where(mask, dy / (1 - p), 0)) if with_backward else y
            return run
        return kernel_run(backend(impl), "dropout", x, p, rng=np.random.default_rng(1),
                          dy=dy if with_backward else None)
    return make


_ALL = ("compiled", "reference", "numpy-naive", "torch")
register(Case("dropout", "dropout_forward p=0.5 1024x1024", _dropout((1024, 1024), 0.5, False),
              impls=_ALL, params={"N": 1 << 20}))
register(Case("dropout", "dropout fwd+bwd p=0.5 1024x1024", _dropout((1024, 1024), 0.5, True),
              impls=_ALL, params={"N": 1 << 20}))
register(Case("dropout", "dropout fwd+bwd p=0.5 64x256", _dropout((64, 256), 0.5, True),
              impls=_ALL, params={"N": 64 * 256}))
register(Case("dropout", "dropout_forward 10 elements (call overhead)", _dropout((10,), 0.5, False),
              impls=_ALL, params={"N": 10}))
