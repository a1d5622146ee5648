"""rnn family (Elman RNN tanh/relu, LSTM, GRU): parity compiled vs reference, gradients through
time (including the initial and final states), truncated BPTT, PyTorch, bad input."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

# kind -> number of gates G
KINDS = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}
SHAPES = [(1, 1, 1, 1), (4, 3, 5, 6), (7, 1, 3, 17), (2, 5, 8, 3), (3, 0, 2, 4), (2, 3, 0, 5)]


def make_args(rng, kind, T, N, D, H, dtype, bias=True, layout="c"):
    """x, h0, (c0), weight_ih, weight_hh, bias_ih, bias_hh for one kind, weights scaled like an
    initialised layer's so that pre-activations stay O(1)."""
    G = KINDS[kind]
    s = 1 / np.sqrt(max(H, 1))
    x, h0 = make(rng, (T, N, D), dtype, layout), make(rng, (N, H), dtype, layout)
    wi = (make(rng, (G * H, D), dtype) * s).astype(dtype)
    wh = (make(rng, (G * H, H), dtype) * s).astype(dtype)
    bi = make(rng, (G * H,), dtype, layout) if bias else None
    bh = make(rng, (G * H,), dtype, layout) if bias else None
    if layout != "c":
        wi, wh = make_layout(wi, layout), make_layout(wh, layout)
    c0 = make(rng, (N, H), dtype, layout) if kind == "lstm" else None
    return x, h0, c0, wi, wh, bi, bh


def make_layout(a, layout):
    if layout == "f":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    b = a.copy()
    b.setflags(write=False)
    return b


def forward(M, kind, x, h0, c0, wi, wh, bi, bh):
    """(out, [state arrays], ctx)"""
    if kind == "lstm":
        out, (hn, cn), ctx = M.lstm_forward(x, h0, c0, wi, wh, bi, bh)
        return out, [hn, cn], ctx
    if kind == "gru":
        out, hn, ctx = M.gru_forward(x, h0, wi, wh, bi, bh)
    else:
        out, hn, ctx = M.rnn_forward(x, h0, wi, wh, bi, bh, kind[4:])
    return out, [hn], ctx


def backward(M, kind, dout, ctx, dstate):
    """Gradients in the order x, h0, (c0), weight_ih, weight_hh, bias_ih, bias_hh."""
    if kind == "lstm":
        return M.lstm_backward(dout, ctx, None if dstate is None else tuple(dstate))
    bwd = M.gru_backward if kind == "gru" else M.rnn_backward
    return bwd(dout, ctx, None if dstate is None else dstate[0])


NAMES = {k: ["dx", "dh0"] + (["dc0"] if k == "lstm" else []) + ["dw_ih", "dw_hh", "db_ih", "db_hh"]
         for k in KINDS}


def assert_parity(rng, dtype, kind, args):
    """Compiled and reference forward (out, final states) and backward (random dout, dstate)
    agree on args; returns (dout, dstate, ctx, ctxr) for further backward checks."""
    out, st, ctx = forward(F, kind, *args)
    outr, str_, ctxr = forward(R, kind, *args)
    assert_close(out, outr, dtype, "out", approx=True)
    for a, b in zip(st, str_):
        assert_close(a, b, dtype, "state", approx=True)
    dout = make(rng, out.shape, dtype)
    dstate = [make(rng, s.shape, dtype) for s in st]
    for got, want, name in zip(backward(F, kind, dout, ctx, dstate), backward(R, kind, dout, ctxr, dstate),
                               NAMES[kind]):
        assert_close(got, want, dtype, name, approx=True)
    return dout, dstate, ctx, ctxr


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("T,N,D,H", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_parity(rng, dtype, kind, T, N, D, H, bias):
    assert_parity(rng, dtype, kind, make_args(rng, kind, T, N, D, H, dtype, bias))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_optional_arguments_are_zeros(rng, kind, impl):
    """h0 / c0 None = zeros, dout None = zeros, dstate None (or a None part) = zeros."""
    x, h0, c0, wi, wh, bi, bh = make_args(rng, kind, 3, 2, 4, 5, np.float64)
    zeros = np.zeros_like(h0)
    out0, st0, ctx0 = forward(impl, kind, x, None, None, wi, wh, bi, bh)
    out1, st1, ctx1 = forward(impl, kind, x, zeros, zeros if kind == "lstm" else None, wi, wh, bi, bh)
    assert_close(out0, out1)
    dout = make(rng, out0.shape, np.float64)
    full = backward(impl, kind, dout, ctx1, [np.zeros_like(s) for s in st1])
    for got, want in zip(backward(impl, kind, dout, ctx0, None), full):
        assert_close(got, want)
    dstate = [make(rng, s.shape, np.float64) for s in st1]
    with_zero_dout = backward(impl, kind, np.zeros_like(dout), ctx1, dstate)
    for got, want in zip(backward(impl, kind, None, ctx1, dstate), with_zero_dout):
        assert_close(got, want)
    if kind == "lstm":
        for part in (0, 1):
            ds = list(dstate)
            ds_none = list(dstate)
            ds[part] = np.zeros_like(ds[part])
            ds_none[part] = None
            for got, want in zip(impl.lstm_backward(dout, ctx1, tuple(ds_none)), backward(impl, kind, dout, ctx1, ds)):
                assert_close(got, want)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, kind, layout):
    args = make_args(rng, kind, 4, 3, 5, 6, dtype, True, layout)
    copies = [None if a is None else a.copy() for a in args]
    out, st, ctx = forward(F, kind, *args)
    dout = make_layout(make(rng, out.shape, dtype), layout) if layout != "c" else make(rng, out.shape, dtype)
    ds = [make(rng, s.shape, dtype) for s in st]
    dcopies = [dout.copy()] + [d.copy() for d in ds]
    grads = backward(F, kind, dout, ctx, ds)
    outr, str_, ctxr = forward(R, kind, *copies)
    assert_close(out, outr, dtype, approx=True)
    for g, gr in zip(grads, backward(R, kind, dcopies[0], ctxr, dcopies[1:])):
        assert_close(g, gr, dtype, approx=True)
    for a, c in zip(list(args) + [dout] + ds, copies + dcopies):
        if a is not None:
            np.testing.assert_array_equal(a, c)


def _state_names(kind):
    return ["dh_n", "dc_n"] if kind == "lstm" else ["dh_n"]


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck(rng, impl, kind):
    """Every input (x, h0, c0, weights, biases) through time, with a non-uniform upstream gradient
    on every step's output and on the final state(s)."""
    T, N, D, H = 3, 2, 3, 4
    x, h0, c0, wi, wh, bi, bh = make_args(rng, kind, T, N, D, H, np.float64)
    if kind == "rnn_relu":   # start away from the kink; relu steps stay piecewise linear
        h0 = np.abs(h0) + 0.1
    inputs = [x, h0] + ([c0] if kind == "lstm" else []) + [wi, wh, bi, bh]
    ns = len(_state_names(kind))

    def split(a):
        lst = list(a)
        if kind != "lstm":
            lst.insert(2, None)
        return lst

    def fn(*a):
        out, st, _ = forward(impl, kind, *split(a))
        return np.concatenate([out.ravel()] + [s.ravel() for s in st])

    def analytic(d, *a):
        out, st, ctx = forward(impl, kind, *split(a))
        k = out.size
        dout = d[:k].reshape(out.shape)
        dstate = [d[k + i * N * H:k + (i + 1) * N * H].reshape(N, H) for i in range(ns)]
        return backward(impl, kind, dout, ctx, dstate)

    gradcheck(fn, inputs, analytic=analytic, names=[n[1:] for n in NAMES[kind]], **TOL["gradcheck"])


# ---- truncated BPTT ---------------------------------------------------------------------------

def truncated_bptt_direct(x, h0, wi, wh, out, dout, dhn, k, nonlinearity, has_bias):
    """The per-output algorithm written out: the error arriving at output t (plus dh_n at t = T-1)
    flows back through steps t, t-1, ..., max(0, t-k); each step adds its contribution to every
    gradient; passing through step 0 reaches h0."""
    T, N, H = out.shape
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dwi, dwh, db = np.zeros_like(wi), np.zeros_like(wh), np.zeros(H)
    for t in range(T):
        dh = dout[t] + (dhn if t == T - 1 else 0)
        for s in range(t, max(0, t - k) - 1, -1):
            h = out[s]
            da = dh * (1 - h * h) if nonlinearity == "tanh" else dh * (h > 0)
            h_prev = out[s - 1] if s > 0 else h0
            dwi += da.T @ x[s]
            dwh += da.T @ h_prev
            db += da.sum(axis=0)
            dx[s] += da @ wi
            dh = da @ wh
            if s == 0:
                dh0 += dh
    b = db if has_bias else None
    return dx, dh0, dwi, dwh, b, b


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("k", [0, 1, 2, 4])
def test_truncated_bptt_matches_direct(rng, impl, nonlinearity, k):
    T, N, D, H = 7, 3, 4, 5
    x, h0, _, wi, wh, bi, bh = make_args(rng, "rnn_tanh", T, N, D, H, np.float64)
    out, hn, ctx = impl.rnn_forward(x, h0, wi, wh, bi, bh, nonlinearity)
    dout, dhn = make(rng, out.shape, np.float64), make(rng, hn.shape, np.float64)
    want = truncated_bptt_direct(x, h0, wi, wh, out, dout, dhn, k, nonlinearity, True)
    for got, w, name in zip(impl.rnn_backward(dout, ctx, dhn, truncate=k), want, NAMES["rnn_tanh"]):
        assert_close(got, w, np.float64, name)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_truncated_bptt_float32_and_no_dout(rng, impl):
    T, N, D, H = 6, 2, 3, 4
    x, h0, _, wi, wh, bi, bh = make_args(rng, "rnn_tanh", T, N, D, H, np.float32)
    out, hn, ctx = impl.rnn_forward(x, h0, wi, wh, None, bh)
    dhn = make(rng, hn.shape, np.float32)
    want = truncated_bptt_direct(*(a.astype(np.float64) for a in (x, h0, wi, wh, out)),
                                 np.zeros(out.shape), dhn.astype(np.float64), 2, "tanh", True)
    got = impl.rnn_backward(None, ctx, dhn, truncate=2)
    assert got[4] is None
    for g, w, name in zip(got[:4] + got[5:], want[:4] + want[5:], NAMES["rnn_tanh"][:4] + ["db_hh"]):
        assert g.dtype == np.float32
        assert_close(g, w.astype(np.float32), np.float32, name, approx=True)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("T", [1, 2, 5])
def test_truncate_at_least_T_minus_1_is_full_bptt(rng, impl, T):
    x, h0, _, wi, wh, bi, bh = make_args(rng, "rnn_tanh", T, 2, 3, 4, np.float64)
    out, hn, ctx = impl.rnn_forward(x, h0, wi, wh, bi, bh)
    dout, dhn = make(rng, out.shape, np.float64), make(rng, hn.shape, np.float64)
    full = impl.rnn_backward(dout, ctx, dhn)
    for k in (T - 1, T, 100):
        for g, f in zip(impl.rnn_backward(dout, ctx, dhn, truncate=k), full):
            assert_close(g, f)


def test_truncated_parity_compiled_reference(rng, dtype):
    x, h0, _, wi, wh, bi, bh = make_args(rng, "rnn_relu", 9, 4, 5, 7, dtype)
    out, hn, ctx = F.rnn_forward(x, h0, wi, wh, bi, bh, "relu")
    outr, hnr, ctxr = R.rnn_forward(x, h0, wi, wh, bi, bh, "relu")
    dout, dhn = make(rng, out.shape, dtype), make(rng, hn.shape, dtype)
    for k in (0, 3, 7):
        for g, gr in zip(F.rnn_backward(dout, ctx, dhn, truncate=k), R.rnn_backward(dout, ctxr, dhn, truncate=k)):
            assert_close(g, gr, dtype, approx=True)


@pytest.mark.parametrize("kind", KINDS)
def test_parity_threaded_sizes(rng, dtype, kind):
    """Large enough per step that the time loop splits hidden units across threads."""
    args = make_args(rng, kind, 5, 32, 8, 75, dtype)   # H not a multiple of the unit block
    dout, dstate, ctx, ctxr = assert_parity(rng, dtype, kind, args)
    if kind.startswith("rnn"):
        for k in (0, 2):
            for got, want in zip(F.rnn_backward(dout, ctx, dstate[0], truncate=k),
                                 R.rnn_backward(dout, ctxr, dstate[0], truncate=k)):
                assert_close(got, want, dtype, approx=True)


# ---- PyTorch -------------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(rng, kind, bias):
    import torch
    T, N, D, H = 5, 3, 4, 6
    x, h0, c0, wi, wh, bi, bh = make_args(rng, kind, T, N, D, H, np.float64, bias)
    if kind == "lstm":
        mod = torch.nn.LSTM(D, H, bias=bias)
    elif kind == "gru":
        mod = torch.nn.GRU(D, H, bias=bias)
    else:
        mod = torch.nn.RNN(D, H, nonlinearity=kind[4:], bias=bias)
    mod = mod.double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(wi))
        mod.weight_hh_l0.copy_(torch.from_numpy(wh))
        if bias:
            mod.bias_ih_l0.copy_(torch.from_numpy(bi))
            mod.bias_hh_l0.copy_(torch.from_numpy(bh))
    tx = torch.tensor(x, requires_grad=True)
    th = torch.tensor(h0[None], requires_grad=True)
    tc = torch.tensor(c0[None], requires_grad=True) if kind == "lstm" else None
    if kind == "lstm":
        tout, (thn, tcn) = mod(tx, (th, tc))
        tstate = [thn[0], tcn[0]]
    else:
        tout, thn = mod(tx, th)
        tstate = [thn[0]]
    out, st, ctx = forward(F, kind, x, h0, c0, wi, wh, bi, bh)
    assert_close(out, tout.detach().numpy(), np.float64, "out")
    for s, ts in zip(st, tstate):
        assert_close(s, ts.detach().numpy(), np.float64, "state")
    dout = make(rng, out.shape, np.float64)
    dstate = [make(rng, s.shape, np.float64) for s in st]
    loss = (tout * torch.from_numpy(dout)).sum() + sum((ts * torch.from_numpy(d)).sum()
                                                       for ts, d in zip(tstate, dstate))
    loss.backward()
    want = [tx.grad, th.grad[0]] + ([tc.grad[0]] if kind == "lstm" else [])
    want += [mod.weight_ih_l0.grad, mod.weight_hh_l0.grad]
    want += [mod.bias_ih_l0.grad, mod.bias_hh_l0.grad] if bias else [None, None]
    for g, w, name in zip(backward(F, kind, dout, ctx, dstate), want, NAMES[kind]):
        assert_close(g, None if w is None else w.numpy(), np.float64, name)


@needs_torch
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_matches_torch_float32(rng, kind):
    import torch
    T, N, D, H = 20, 4, 8, 16
    x, h0, c0, wi, wh, bi, bh = make_args(rng, kind, T, N, D, H, np.float32)
    out, st, ctx = forward(F, kind, x, h0, c0, wi, wh, bi, bh)
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[kind](D, H)
    with torch.no_grad():
        for name, a in (("weight_ih_l0", wi), ("weight_hh_l0", wh), ("bias_ih_l0", bi), ("bias_hh_l0", bh)):
            getattr(mod, name).copy_(torch.from_numpy(a))
        state = (torch.from_numpy(h0[None]), torch.from_numpy(c0[None])) if kind == "lstm" else torch.from_numpy(h0[None])
        tout = mod(torch.from_numpy(x), state)[0].numpy()
    assert_close(out, tout, np.float32, "out", approx=True)


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_bad_input(impl):
    f32 = np.float32
    x, h0 = np.ones((3, 2, 4), f32), np.zeros((2, 5), f32)
    wi, wh, b = np.ones((5, 4), f32), np.ones((5, 5), f32), np.ones(5, f32)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        impl.rnn_forward([[[1.0]]], h0, wi, wh)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        impl.rnn_forward(np.ones((3, 2, 4), np.int64), h0, wi, wh)
    with pytest.raises(TypeError, match="h0 has dtype float64 but x has dtype float32"):
        impl.rnn_forward(x, h0.astype(np.float64), wi, wh)
    with pytest.raises(TypeError, match="weight_hh has dtype float64"):
        impl.rnn_forward(x, h0, wi, wh.astype(np.float64))
    with pytest.raises(TypeError, match="bias_hh has dtype float64"):
        impl.rnn_forward(x, h0, wi, wh, b, b.astype(np.float64))
    with pytest.raises(TypeError, match="weight_ih must be a numpy.ndarray"):
        impl.rnn_forward(x, h0, None, wh)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        impl.rnn_forward(x, h0, wi, wh, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"x must be 3-D \(T, N, D\)"):
        impl.rnn_forward(np.ones((2, 4), f32), h0, wi, wh)
    with pytest.raises(ValueError, match="empty sequence"):
        impl.rnn_forward(np.ones((0, 2, 4), f32), h0, wi, wh)
    with pytest.raises(ValueError, match=r"weight_ih must be \(1\*H, 4\)"):
        impl.rnn_forward(x, h0, np.ones((5, 3), f32), wh)
    with pytest.raises(ValueError, match=r"weight_ih must be \(4\*H, 4\)"):
        impl.lstm_forward(x, h0, h0, np.ones((10, 4), f32), np.ones((10, 5), f32))
    with pytest.raises(ValueError, match=r"weight_ih must be \(3\*H, 4\)"):
        impl.gru_forward(x, h0, np.ones((0, 4), f32), np.ones((0, 0), f32))
    with pytest.raises(ValueError, match=r"weight_hh must be \(5, 5\)"):
        impl.rnn_forward(x, h0, wi, np.ones((5, 4), f32))
    with pytest.raises(ValueError, match=r"weight_hh must be \(20, 5\)"):
        impl.lstm_forward(x, h0, h0, np.ones((20, 4), f32), np.ones((5, 5), f32))
    with pytest.raises(ValueError, match=r"bias_ih must have shape \(5,\)"):
        impl.rnn_forward(x, h0, wi, wh, np.ones(4, f32))
    with pytest.raises(ValueError, match=r"bias_hh must have shape \(15,\)"):
        impl.gru_forward(x, h0, np.ones((15, 4), f32), np.ones((15, 5), f32), None, np.ones((15, 1), f32))
    with pytest.raises(ValueError, match=r"h0 must have shape \(N, H\) = \(2, 5\), got \(1, 2, 5\)"):
        impl.rnn_forward(x, h0[None], wi, wh)
    with pytest.raises(ValueError, match=r"c0 must have shape \(N, H\) = \(2, 5\), got \(2, 4\)"):
        impl.lstm_forward(x, h0, np.zeros((2, 4), f32), np.ones((20, 4), f32), np.ones((20, 5), f32))
    with pytest.raises(TypeError, match="c0 has dtype float64"):
        impl.lstm_forward(x, h0, h0.astype(np.float64), np.ones((20, 4), f32), np.ones((20, 5), f32))

    out, hn, ctx = impl.rnn_forward(x, h0, wi, wh, b, b)
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2, 5\), got \(3, 2, 4\)"):
        impl.rnn_backward(np.ones((3, 2, 4), f32), ctx)
    with pytest.raises(TypeError, match="dout has dtype float64 but x has dtype float32"):
        impl.rnn_backward(np.ones((3, 2, 5)), ctx)
    with pytest.raises(ValueError, match=r"dstate must have shape \(2, 5\)"):
        impl.rnn_backward(None, ctx, np.ones((1, 2, 5), f32))
    with pytest.raises(ValueError, match="truncate must be None or an int >= 0, got -1"):
        impl.rnn_backward(None, ctx, truncate=-1)
    with pytest.raises(TypeError, match="truncate must be None or an int >= 0, got float"):
        impl.rnn_backward(None, ctx, truncate=2.0)
    with pytest.raises(TypeError, match="truncate must be None or an int >= 0, got bool"):
        impl.rnn_backward(None, ctx, truncate=True)

    out, st, lctx = impl.lstm_forward(x, h0, h0, np.ones((20, 4), f32) * 0.1, np.ones((20, 5), f32) * 0.1)
    with pytest.raises(TypeError, match=r"dstate must be None or a tuple \(dh_n, dc_n\)"):
        impl.lstm_backward(None, lctx, h0)
    with pytest.raises(ValueError, match=r"dc_n must have shape \(2, 5\)"):
        impl.lstm_backward(None, lctx, (None, np.ones((2, 4), f32)))
    with pytest.raises(TypeError, match="dh_n has dtype float64"):
        impl.lstm_backward(None, lctx, (np.ones((2, 5)), None))
    out, hn, gctx = impl.gru_forward(x, h0, np.ones((15, 4), f32), np.ones((15, 5), f32))
    with pytest.raises(ValueError, match=r"dout must have shape"):
        impl.gru_backward(np.ones((2, 2, 5), f32), gctx)
    # a ctx of the wrong kind
    with pytest.raises(TypeError):
        impl.gru_backward(None, ctx)
    with pytest.raises(TypeError):
        impl.rnn_backward(None, lctx)
    with pytest.raises(TypeError):
        impl.lstm_backward(None, None)


def test_backward_rejects_foreign_ctx():
    _, _, ctx = R.rnn_forward(np.ones((1, 1, 1)), None, np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(TypeError):
        F.rnn_backward(None, ctx)


def test_large_preactivations_stay_finite(dtype):
    """Saturated gates: the stable sigmoid / tanh give exact 0 / 1 and no NaN."""
    x = np.full((2, 1, 1), 1e4, dtype)
    for kind in ("lstm", "gru", "rnn_tanh"):
        G = KINDS[kind]
        w = np.ones((G, 1), dtype)
        for sign in (1, -1):
            out, st, ctx = forward(F, kind, sign * x, None, None, w, w, None, None)
            assert np.all(np.isfinite(out))
            grads = backward(F, kind, np.ones_like(out), ctx, None)
            assert all(np.all(np.isfinite(g)) for g in grads if g is not None)


# ---- temporal cross-entropy -----------------------------------------------------------------------

def _tce_inputs(rng, T, N, V, dtype, mask_kind):
    logits = (3 * make(rng, (T, N, V), dtype)).astype(dtype)
    target = rng.integers(0, V, size=(T, N)).astype(np.int64)
    mask = None
    if mask_kind == "bool":
        mask = rng.random((T, N)) < 0.7
        target[~mask] = -1          # padding positions may hold anything
    elif mask_kind == "float":
        mask = rng.random((T, N)).astype(dtype)
    return logits, target, mask


@pytest.mark.parametrize("T,N,V", [(1, 1, 1), (5, 3, 7), (20, 8, 300), (3, 0, 4)])
@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_temporal_ce_parity(rng, dtype, T, N, V, mask_kind):
    logits, target, mask = _tce_inputs(rng, T, N, V, dtype, mask_kind)
    loss, ctx = F.temporal_cross_entropy_forward(logits, target, mask)
    lossr, ctxr = R.temporal_cross_entropy_forward(logits, target, mask)
    assert loss.shape == () and loss.dtype == dtype
    assert_close(loss, lossr, dtype, "loss", approx=True)
    for dloss in (1.0, np.array(0.5, dtype)):
        assert_close(F.temporal_cross_entropy_backward(dloss, ctx),
                     R.temporal_cross_entropy_backward(dloss, ctxr), dtype, "dlogits", approx=True)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_temporal_ce_all_masked(impl):
    logits, target = np.zeros((2, 3, 4)), np.full((2, 3), -5, np.int64)
    loss, ctx = impl.temporal_cross_entropy_forward(logits, target, np.zeros((2, 3), bool))
    assert np.isnan(loss)
    np.testing.assert_array_equal(impl.temporal_cross_entropy_backward(1.0, ctx), 0)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("mask_kind", [None, "bool", "float"])
def test_temporal_ce_gradcheck(rng, impl, mask_kind):
    logits, target, mask = _tce_inputs(rng, 3, 2, 5, np.float64, mask_kind)
    gradcheck(lambda x: impl.temporal_cross_entropy_forward(x, target, mask)[0], [logits],
              dout=np.array(0.7),
              analytic=lambda d, x: (impl.temporal_cross_entropy_backward(
                  np.array(float(d)), impl.temporal_cross_entropy_forward(x, target, mask)[1]),),
              names=["logits"], **TOL["gradcheck"])


@needs_torch
def test_temporal_ce_matches_torch(rng):
    import torch
    logits, target, mask = _tce_inputs(rng, 6, 4, 9, np.float64, "bool")
    loss, ctx = F.temporal_cross_entropy_forward(logits, target, mask)
    tl = torch.tensor(logits, requires_grad=True)
    tt = torch.from_numpy(np.where(mask, target, -100))
    tloss = torch.nn.functional.cross_entropy(tl.reshape(-1, 9), tt.reshape(-1), ignore_index=-100)
    tloss.backward()
    assert_close(loss, tloss.detach().numpy(), np.float64)
    assert_close(F.temporal_cross_entropy_backward(1.0, ctx), tl.grad.numpy(), np.float64)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_temporal_ce_bad_input(impl):
    x, tgt = np.zeros((2, 3, 4), np.float32), np.zeros((2, 3), np.int64)
    with pytest.raises(TypeError, match="logits must have dtype"):
        impl.temporal_cross_entropy_forward(x.astype(np.int32), tgt)
    with pytest.raises(ValueError, match=r"logits must be 3-D \(T, N, V\) with V >= 1"):
        impl.temporal_cross_entropy_forward(np.zeros((2, 3, 0), np.float32), tgt)
    with pytest.raises(TypeError, match="target must have dtype int64, got int32"):
        impl.temporal_cross_entropy_forward(x, tgt.astype(np.int32))
    with pytest.raises(TypeError, match="target must be a numpy.ndarray"):
        impl.temporal_cross_entropy_forward(x, [[0]])
    with pytest.raises(ValueError, match=r"target must have shape \(T, N\) = \(2, 3\)"):
        impl.temporal_cross_entropy_forward(x, np.zeros(6, np.int64))
    bad = tgt.copy()
    bad[1, 2] = 4
    with pytest.raises(ValueError, match=r"target out of range at \(t, n\) = \(1, 2\): 4 is not in \[0, 4\)"):
        impl.temporal_cross_entropy_forward(x, bad)
    with pytest.raises(TypeError, match="mask must be a bool array or a float array"):
        impl.temporal_cross_entropy_forward(x, tgt, np.ones((2, 3), np.float64))
    with pytest.raises(ValueError, match=r"mask must have shape \(T, N\)"):
        impl.temporal_cross_entropy_forward(x, tgt, np.ones((3, 2), bool))
    loss, ctx = impl.temporal_cross_entropy_forward(x, tgt)
    with pytest.raises(TypeError, match="dloss has dtype float64"):
        impl.temporal_cross_entropy_backward(np.array(1.0), ctx)
    with pytest.raises(ValueError, match="dloss must be a number or a 0-d array"):
        impl.temporal_cross_entropy_backward(np.ones(1, np.float32), ctx)
    with pytest.raises(TypeError, match="dloss must be a number or a 0-d array"):
        impl.temporal_cross_entropy_backward("1", ctx)


@pytest.mark.parametrize("kind", KINDS)
def test_ctx_fields_match_between_backends(rng, kind):
    args = make_args(rng, kind, 2, 2, 3, 4, np.float64)
    _, _, ctx = forward(F, kind, *args)
    _, _, ctxr = forward(R, kind, *args)
    for name in type(ctxr).__slots__:
        a, b = getattr(ctx, name), getattr(ctxr, name)
        if isinstance(b, np.ndarray):
            assert_close(a, b, np.float64, name)
        else:
            assert a == b, name


def test_float32_tanh_within_few_ulp():
    """With w_ih = 1 and w_hh = 0 the tanh RNN is tanh(x) elementwise: the gate pass's float32
    tanh stays within 2 ulp of the correctly rounded value (including the 0.5 switch-over)."""
    rng = np.random.default_rng(5)
    v = np.concatenate([rng.uniform(-1, 1, 20000), rng.uniform(-12, 12, 20000), np.logspace(-30, 1.5, 2000),
                        np.nextafter(np.float32(0.5), np.float32([0, 1])), [0.0, 50, -50]])
    v = np.concatenate([v, -v]).astype(np.float32)
    x = v.reshape(-1, 1, 1)
    out, _, _ = F.rnn_forward(x, None, np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32))
    want = np.tanh(v.astype(np.float64)).astype(np.float32)

    def ordered(a):   # float32 -> integers in the floats' order (+0 and -0 the same)
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(2**31) - i, i)

    assert np.abs(ordered(out.ravel()) - ordered(want)).max() <= 2
