"""Benchmark cases for the embedding family."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable


def _case(shape, V, E, direction, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        idx = rng.integers(0, V, size=shape).astype(np.int64)
        w = rng.standard_normal((V, E)).astype(dtype)
        dout = rng.standard_normal(shape + (E,)).astype(dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            ti, tw = torch.from_numpy(idx), torch.from_numpy(w).requires_grad_()
            if direction == "forward":
                return lambda: torch.nn.functional.embedding(ti, tw)
            out = torch.nn.functional.embedding(ti, tw)
            td = torch.from_numpy(dout)
            return lambda: torch.autograd.grad(out, tw, td, retain_graph=True)
        if impl == "numpy-naive":
            if direction == "forward":
                return lambda: w[idx]
            def naive():
                dw = np.zeros_like(w)
                np.add.at(dw, idx.reshape(-1), dout.reshape(-1, E))
                return dw
            return naive
        F = backend(impl)
        if direction == "forward":
            return lambda: F.embedding_forward(idx, w)
        _, ctx = F.embedding_forward(idx, w)
        return lambda: F.embedding_backward(dout, ctx)
    return make


for _direction in ("forward", "backward"):
    register(Case("embedding", f"embedding_{_direction} 50x32 indices V=10000 E=128",
                  _case((50, 32), 10000, 128, _direction), quick=True,
                  impls=("compiled", "reference", "numpy-naive", "torch"),
                  params={"n": 1600, "V": 10000, "E": 128}))
    for _n in (64, 16384):
        register(Case("embedding", f"embedding_{_direction} {_n} indices V=10000 E=128",
                      _case((_n,), 10000, 128, _direction), quick=False,
                      impls=("compiled", "reference", "torch"), params={"n": _n, "V": 10000, "E": 128}))
