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


def _flops(p, backward=False):
    """Direct convolution with an H x H output (these cases keep the size): 2 N C_out C k^2 H^2,
    twice that for the backward (dx and dw). Winograd does fewer, so it can beat this bound."""
    f = 2.0 * p["N"] * p["C_out"] * p["C"] * p["k"] ** 2 * p["H"] ** 2
    return 2 * f if backward else f


for _n, _c, _co, _h in ((64, 32, 64, 14), (8, 64, 64, 56)):
    _p = {"N": _n, "C": _c, "C_out": _co, "H": _h, "k": 3}
    register(Case("conv", f"conv2d_forward {_n}x{_c}x{_h}x{_h} ->{_co} k3p1", _conv_fwd(_n, _c, _co, _h), params=_p,
                  flops=_flops(_p)))
    register(Case("conv", f"conv2d_backward {_n}x{_c}x{_h}x{_h} ->{_co} k3p1", _conv_bwd(_n, _c, _co, _h), params=_p,
                  flops=_flops(_p, True)))
_p = {"N": 64, "C": 32, "C_out": 64, "H": 14, "k": 3}
register(Case("conv", "conv2d_forward relu 64x32x14x14 ->64 k3p1", _conv_fwd(64, 32, 64, 14, act="relu"),
              params=_p, flops=_flops(_p)))
_p = {"N": 64, "C": 64, "C_out": 128, "H": 14, "k": 1}
register(Case("conv", "conv2d_forward 1x1 64x64x14x14 ->128", _conv_fwd(64, 64, 128, 14, k=1, pad=0),
              params=_p, flops=_flops(_p)))
register(Case("conv", "im2col 64x32x14x14 k3p1", _im2col(64, 32, 14), params={"N": 64, "C": 32, "H": 14, "k": 3}))

# scaling: batch size, then channels (forward and backward), for the bench runner's plots
for _n in (1, 4, 16, 64, 256):
    _p = {"N": _n, "C": 32, "C_out": 64, "H": 14, "k": 3}
    register(Case("conv", f"conv2d_forward {_n}x32x14x14 ->64 k3p1 (batch scaling)", _conv_fwd(_n, 32, 64, 14),
                  quick=False, params=_p, flops=_flops(_p)))
    register(Case("conv", f"conv2d_backward {_n}x32x14x14 ->64 k3p1 (batch scaling)", _conv_bwd(_n, 32, 64, 14),
                  quick=False, params=_p, flops=_flops(_p, True)))
for _c in (8, 16, 32, 64, 128):
    _p = {"N": 32, "C": _c, "C_out": _c, "H": 14, "k": 3}
    register(Case("conv", f"conv2d_forward 32x{_c}x14x14 ->{_c} k3p1 (channel scaling)", _conv_fwd(32, _c, _c, 14),
                  quick=False, params=_p, flops=_flops(_p)))
    register(Case("conv", f"conv2d_backward 32x{_c}x14x14 ->{_c} k3p1 (channel scaling)", _conv_bwd(32, _c, _c, 14),
                  quick=False, params=_p, flops=_flops(_p, True)))


def _lenet_step(n=64):
    """One LeNet-style training step at batch n on 28x28 inputs: conv 1->8 5x5 + relu, max pool 2,
    conv 8->16 5x5 + relu, max pool 2, linear 256->10, cross-entropy, backward, SGD on the 6
    parameter arrays. "compiled"/"reference": the functional API, conv+relu fused as fastnn.nn's
    Sequential fuses it; "torch": the idiomatic nn.Sequential + optim.SGD loop."""
    def make(impl):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
        target = rng.integers(0, 10, n).astype(np.int64)
        shapes = [(8, 1, 5, 5), (8,), (16, 8, 5, 5), (16,), (10, 256), (10,)]
        params = [(rng.standard_normal(s) * 0.1).astype(np.float32) for s in shapes]
        if impl == "torch":
            torch = torch_or_unavailable()
            nn = torch.nn
            model = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Flatten(), nn.Linear(256, 10))
            with torch.no_grad():
                for p, a in zip(model.parameters(), params):
                    p.copy_(torch.from_numpy(a))
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            tx, tt = torch.from_numpy(x), torch.from_numpy(target)

            def run():
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(tx), tt)
                loss.backward()
                opt.step()
                return loss
            return run
        F = backend(impl)
        w1, b1, w2, b2, w3, b3 = params
        bufs = [np.zeros_like(p) for p in params]
        dloss = np.ones((), np.float32)

        def run():
            h1, c1 = F.conv2d_forward(x, w1, b1, activation="relu")
            p1, cp1 = F.max_pool2d_forward(h1, 2)
            h2, c2 = F.conv2d_forward(p1, w2, b2, activation="relu")
            p2, cp2 = F.max_pool2d_forward(h2, 2)
            logits, c3 = F.linear_forward(p2.reshape(n, 256), w3, b3)
            loss, cl = F.cross_entropy_forward(logits, target)
            dp2, dw3, db3 = F.linear_backward(F.cross_entropy_backward(dloss, cl), c3)
            dh2 = F.max_pool2d_backward(dp2.reshape(p2.shape), cp2)
            dp1, dw2, db2 = F.conv2d_backward(dh2, c2)
            dh1 = F.max_pool2d_backward(dp1, cp1)
            _, dw1, db1 = F.conv2d_backward(dh1, c1, input_grad=False)  # the input needs no gradient
            for p, g, buf in zip(params, (dw1, db1, dw2, db2, dw3, db3), bufs):
                F.sgd_step(p, g, buf, 0.01)
            return loss
        return run
    return make


register(Case("conv", "lenet train step batch 64 (conv5+relu, pool, conv5+relu, pool, linear, SGD)",
              _lenet_step(64), params={"N": 64}))
for _n in (16, 256):
    register(Case("conv", f"lenet train step batch {_n} (conv5+relu, pool, conv5+relu, pool, linear, SGD)",
                  _lenet_step(_n), quick=False, params={"N": _n}))
