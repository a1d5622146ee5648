"""Benchmark cases for the conv family (fp32, NCHW, 3x3 "same" convolutions unless named)."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable


def _inputs(n, c, co, h, k, dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, h)).astype(dtype)
    w = (rng.standard_normal((co, c, k, k)) / np.sqrt(c * k * k)).astype(dtype)
    b = rng.standard_normal(co).astype(dtype)
    return x, w, b


def _conv_fwd(n, c, co, h, k=3, pad=1, act=None):
    def make(impl):
        x, w, b = _inputs(n, c, co, h, k)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx, tw, tb = map(torch.from_numpy, (x, w, b))
            f = torch.relu if act == "relu" else (lambda t: t)

            def run():
                with torch.no_grad():
                    return f(torch.nn.functional.conv2d(tx, tw, tb, padding=pad))
            return run
        F = backend(impl)
        return lambda: F.conv2d_forward(x, w, b, padding=pad, activation=act)
    return make


def _conv_bwd(n, c, co, h, k=3, pad=1):
    """The backward pass alone (dx, dweight, dbias), the forward done once beforehand."""
    def make(impl):
        x, w, b = _inputs(n, c, co, h, k)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x).requires_grad_()
            tw = torch.from_numpy(w).requires_grad_()
            tb = torch.from_numpy(b).requires_grad_()
            ty = torch.nn.functional.conv2d(tx, tw, tb, padding=pad)
            tdy = torch.from_numpy(np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(np.float32))
            return lambda: torch.autograd.grad(ty, (tx, tw, tb), tdy, retain_graph=True)
        F = backend(impl)
        y, ctx = F.conv2d_forward(x, w, b, padding=pad)
        dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        return lambda: F.conv2d_backward(dy, ctx)
    return make


def _im2col(n, c, h, k=3, pad=1):
    def make(impl):
        x, _, _ = _inputs(n, c, 1, h, k)
        if impl == "torch":
            torch = torch_or_unavailable()
            tx = torch.from_numpy(x)
            return lambda: torch.nn.functional.unfold(tx, k, padding=pad)
        F = backend(impl)
        return lambda: F.im2col(x, k, 1, pad)
    return make


for _n, _c, _co, _h in ((64, 32, 64, 14), (8, 64, 64, 56)):
    _p = {"N": _n, "C": _c, "C_out": _co, "H": _h, "k": 3}
    register(Case("conv", f"conv2d_forward {_n}x{_c}x{_h}x{_h} ->{_co} k3p1", _conv_fwd(_n, _c, _co, _h), params=_p))
    register(Case("conv", f"conv2d_backward {_n}x{_c}x{_h}x{_h} ->{_co} k3p1", _conv_bwd(_n, _c, _co, _h), params=_p))
register(Case("conv", "conv2d_forward relu 64x32x14x14 ->64 k3p1", _conv_fwd(64, 32, 64, 14, act="relu"),
              params={"N": 64, "C": 32, "C_out": 64, "H": 14, "k": 3}))
register(Case("conv", "conv2d_forward 1x1 64x64x14x14 ->128", _conv_fwd(64, 64, 128, 14, k=1, pad=0),
              params={"N": 64, "C": 64, "C_out": 128, "H": 14, "k": 1}))
register(Case("conv", "im2col 64x32x14x14 k3p1", _im2col(64, 32, 14), params={"N": 64, "C": 32, "H": 14, "k": 3}))

# scaling: batch size, then channels (forward and backward), for the bench runner's plots
for _n in (1, 4, 16, 64, 256):
    _p = {"N": _n, "C": 32, "C_out": 64, "H": 14, "k": 3}
    register(Case("conv", f"conv2d_forward {_n}x32x14x14 ->64 k3p1 (batch scaling)", _conv_fwd(_n, 32, 64, 14),
                  quick=False, params=_p))
    register(Case("conv", f"conv2d_backward {_n}x32x14x14 ->64 k3p1 (batch scaling)", _conv_bwd(_n, 32, 64, 14),
                  quick=False, params=_p))
for _c in (8, 16, 32, 64, 128):
    _p = {"N": 32, "C": _c, "C_out": _c, "H": 14, "k": 3}
    register(Case("conv", f"conv2d_forward 32x{_c}x14x14 ->{_c} k3p1 (channel scaling)", _conv_fwd(32, _c, _c, 14),
                  quick=False, params=_p))
    register(Case("conv", f"conv2d_backward 32x{_c}x14x14 ->{_c} k3p1 (channel scaling)", _conv_bwd(32, _c, _c, 14),
                  quick=False, params=_p))
