"""Benchmark cases for the rnn family (Elman RNN, LSTM, GRU): forward and backward timed
separately. torch runs its training-mode forward (autograd on, as our forward keeps what the
backward needs) and, for the backward, torch.autograd.grad over a kept graph."""
import numpy as np

from . import Case, register, backend, torch_or_unavailable

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _inputs(kind, T, N, D, H, dtype):
    rng = np.random.default_rng(0)
    G = GATES[kind]
    s = 1 / np.sqrt(H)
    x = rng.standard_normal((T, N, D)).astype(dtype)
    h0 = (0.1 * rng.standard_normal((N, H))).astype(dtype)
    wi = (s * rng.standard_normal((G * H, D))).astype(dtype)
    wh = (s * rng.standard_normal((G * H, H))).astype(dtype)
    bi = (s * rng.standard_normal(G * H)).astype(dtype)
    bh = (s * rng.standard_normal(G * H)).astype(dtype)
    dout = rng.standard_normal((T, N, H)).astype(dtype)
    return x, h0, wi, wh, bi, bh, dout


def _torch_module(torch, kind, D, H, wi, wh, bi, bh):
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](D, H)
    mod = mod.to(torch.float64 if wi.dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for name, a in (("weight_ih_l0", wi), ("weight_hh_l0", wh), ("bias_ih_l0", bi), ("bias_hh_l0", bh)):
            getattr(mod, name).copy_(torch.from_numpy(a))
    return mod


def _fwd(M, kind, x, h0, wi, wh, bi, bh):
    if kind == "lstm":
        return M.lstm_forward(x, h0, h0, wi, wh, bi, bh)
    if kind == "gru":
        return M.gru_forward(x, h0, wi, wh, bi, bh)
    return M.rnn_forward(x, h0, wi, wh, bi, bh, "tanh")


def _case(kind, T, N, D, H, direction, truncate=None, dtype=np.float32):
    def make(impl):
        x, h0, wi, wh, bi, bh, dout = _inputs(kind, T, N, D, H, dtype)
        if impl == "torch":
            torch = torch_or_unavailable()
            mod = _torch_module(torch, kind, D, H, wi, wh, bi, bh)
            tx = torch.from_numpy(x).requires_grad_()
            th = torch.from_numpy(h0[None]).requires_grad_()
            state = (th, th) if kind == "lstm" else th
            if direction == "forward":
                return lambda: mod(tx, state)
            out = mod(tx, state)[0]
            td = torch.from_numpy(dout)
            wrt = [tx, th] + list(mod.parameters())
            return lambda: torch.autograd.grad(out, wrt, td, retain_graph=True)
        M = backend(impl)
        if direction == "forward":
            return lambda: _fwd(M, kind, x, h0, wi, wh, bi, bh)
        _, _, ctx = _fwd(M, kind, x, h0, wi, wh, bi, bh)
        bwd = {"rnn": M.rnn_backward, "lstm": M.lstm_backward, "gru": M.gru_backward}[kind]
        if truncate is not None:
            return lambda: bwd(dout, ctx, None, truncate)
        return lambda: bwd(dout, ctx)
    return make


def _flops(kind, T, N, D, H, backward, truncate=None):
    """The GEMMs every step needs: the input projection (T N, D) @ (D, G H) and the recurrent one
    (N, H) @ (H, G H) per step, 2 per multiply-add; the backward does each twice (the gradient
    of its input and of its weight). Not stated (0) for truncated BPTT, whose work depends on
    the window."""
    if truncate is not None:
        return 0.0
    f = 2.0 * T * N * GATES[kind] * H * (D + H)
    return 2 * f if backward else f


def _register(kind, T, N, D, H, quick, truncate=None):
    label = {"rnn": "rnn(tanh)", "lstm": "lstm", "gru": "gru"}[kind]
    for direction in ("forward", "backward"):
        name = f"{label}_{direction} T={T} N={N} D={D} H={H}"
        impls = ("compiled", "reference", "torch")
        if truncate is not None:
            if direction == "forward":
                continue
            name += f" truncate={truncate}"
            impls = ("compiled", "reference")
        register(Case("rnn", name, _case(kind, T, N, D, H, direction, truncate), impls=impls,
                      quick=quick, params={"T": T, "N": N, "D": D, "H": H},
                      flops=_flops(kind, T, N, D, H, direction == "backward", truncate)))


for _kind in ("lstm", "rnn", "gru"):
    _register(_kind, 50, 32, 64, 128, quick=True)
_register("rnn", 50, 32, 64, 128, quick=False, truncate=5)
for _kind in ("lstm", "gru", "rnn"):
    for _T in (10, 100, 200):
        _register(_kind, _T, 32, 64, 128, quick=False)
    for _H in (32, 256, 512):
        _register(_kind, 50, 32, 64, _H, quick=False)


def _tce(T, N, V, direction, dtype=np.float32):
    def make(impl):
        rng = np.random.default_rng(0)
        logits = rng.standard_normal((T, N, V)).astype(dtype)
        target = rng.integers(0, V, size=(T, N)).astype(np.int64)
        mask = rng.random((T, N)) < 0.9
        if impl == "torch":
            torch = torch_or_unavailable()
            tl = torch.from_numpy(logits).requires_grad_()
            tt = torch.from_numpy(np.where(mask, target, -100))
            def fwd():
                return torch.nn.functional.cross_entropy(tl.reshape(-1, V), tt.reshape(-1), ignore_index=-100)
            if direction == "forward":
                return fwd
            loss = fwd()
            return lambda: torch.autograd.grad(loss, tl, retain_graph=True)
        M = backend(impl)
        if direction == "forward":
            return lambda: M.temporal_cross_entropy_forward(logits, target, mask)
        _, ctx = M.temporal_cross_entropy_forward(logits, target, mask)
        return lambda: M.temporal_cross_entropy_backward(1.0, ctx)
    return make


for _direction in ("forward", "backward"):
    register(Case("rnn", f"temporal_cross_entropy_{_direction} T=50 N=32 V=65 masked",
                  _tce(50, 32, 65, _direction), params={"T": 50, "N": 32, "V": 65}))
    register(Case("rnn", f"temporal_cross_entropy_{_direction} T=50 N=32 V=10000 masked",
                  _tce(50, 32, 10000, _direction), quick=False, params={"T": 50, "N": 32, "V": 10000}))
