"""Benchmark cases for the loss family: fused cross-entropy at ImageNet-like and MNIST-like
sizes, forward and forward+backward, plus MSE."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable, torch_no_grad, kernel_run


def _ce(n, c, with_backward, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, c)).astype(dtype)
        t = rng.integers(0, c, n)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tt = torch.from_numpy(x), torch.from_numpy(t)
            if not with_backward:
                return torch_no_grad(torch, torch.nn.functional.cross_entropy, tx, tt)
            tx.requires_grad_()
            def run():
                return torch.autograd.grad(torch.nn.functional.cross_entropy(tx, tt), tx)
            return run
        if impl == "numpy-naive":
            def run():
                # what one writes by hand: log-softmax, pick, mean (+ softmax - onehot)
                z = x - x.max(axis=1, keepdims=True)
                logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
                loss = -logp[np.arange(n), t].mean()
                if with_backward:
                    d = np.exp(logp)
                    d[np.arange(n), t] -= 1
                    return loss, d / n
                return loss
            return run
        return kernel_run(backend(impl), "cross_entropy", x, t, dy=1.0 if with_backward else None)
    return make


def _mse(n, with_backward, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        p, q = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            tp, tq = torch.from_numpy(p).requires_grad_(), torch.from_numpy(q)
            if not with_backward:
                return torch_no_grad(torch, torch.nn.functional.mse_loss, tp, tq)
            return lambda: torch.autograd.grad(torch.nn.functional.mse_loss(tp, tq), tp)
        return kernel_run(backend(impl), "mse_loss", p, q, dy=1.0 if with_backward else None)
    return make


_ALL = ("compiled", "reference", "numpy-naive", "torch")
register(Case("loss", "cross_entropy_forward 4096x1000", _ce(4096, 1000, False), impls=_ALL,
              params={"N": 4096, "C": 1000}))
register(Case("loss", "cross_entropy fwd+bwd 4096x1000", _ce(4096, 1000, True), impls=_ALL,
              params={"N": 4096, "C": 1000}))
register(Case("loss", "cross_entropy fwd+bwd 64x10 (call overhead)", _ce(64, 10, True), impls=_ALL,
              params={"N": 64, "C": 10}))
register(Case("loss", "mse_loss fwd+bwd 1M", _mse(1 << 20, True), quick=False, params={"N": 1 << 20}))
for _n in (256, 1024, 16384):
    register(Case("loss", f"cross_entropy fwd+bwd {_n}x1000", _ce(_n, 1000, True), impls=_ALL,
                  quick=False, params={"N": _n, "C": 1000}))
