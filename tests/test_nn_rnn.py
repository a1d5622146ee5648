"""fastnn.nn recurrent layers (RNN, LSTM, GRU) and Embedding: parameters, finite-difference
gradients through layers / directions / dropout / batch_first, parity with PyTorch, both
backends, state_dict, bad input."""
import itertools

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.gradcheck import gradcheck
from conftest import assert_close, TOL, needs_torch

BACKENDS = ["compiled", "reference"]
CLASSES = ["RNN", "LSTM", "GRU"]
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def build(cls, *args, **kw):
    kw.setdefault("dtype", np.float64)
    return getattr(nn, cls)(*args, **kw)


def states(cls, st):
    """The final state as a list of arrays (h_n, or h_n and c_n)."""
    return list(st) if cls == "LSTM" else [st]


# ---- parameters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", CLASSES)
def test_parameter_names_shapes_init(cls):
    m = build(cls, 3, 5, num_layers=2, bidirectional=True, rng=0, dtype=np.float32)
    G, H = GATES[cls], 5
    names = [n for n, _ in m.named_parameters()]
    expect = []
    for k in range(2):
        for sfx in ("", "_reverse"):
            expect += [f"weight_ih_l{k}{sfx}", f"weight_hh_l{k}{sfx}", f"bias_ih_l{k}{sfx}",
                       f"bias_hh_l{k}{sfx}"]
    assert names == expect
    assert m.weight_ih_l0.shape == (G * H, 3) and m.weight_ih_l1_reverse.shape == (G * H, 2 * H)
    assert m.weight_hh_l1.shape == (G * H, H) and m.bias_hh_l0_reverse.shape == (G * H,)
    bound = 1 / np.sqrt(H)
    for p in m.parameters():
        assert p.dtype == np.float32 and np.abs(p.data).max() <= bound
    nob = build(cls, 3, 5, bias=False)
    assert [n for n, _ in nob.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    # same seed, same model
    m2 = build(cls, 3, 5, num_layers=2, bidirectional=True, rng=0, dtype=np.float32)
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


@needs_torch
@pytest.mark.parametrize("cls", CLASSES)
def test_names_shapes_repr_match_torch(cls):
    import torch
    for kw in (dict(), dict(num_layers=2, bidirectional=True, batch_first=True, bias=False,
                            dropout=0.25)):
        t = getattr(torch.nn, cls)(3, 4, **kw)
        m = build(cls, 3, 4, **kw)
        assert [(n, tuple(p.shape)) for n, p in t.named_parameters()] == \
            [(n, p.shape) for n, p in m.named_parameters()]
        assert repr(m) == repr(t)
    if cls == "RNN":
        assert repr(nn.RNN(3, 4, nonlinearity="relu")) == repr(torch.nn.RNN(3, 4, nonlinearity="relu"))


# ---- finite differences ---------------------------------------------------------------------------

def _flat(m):
    return np.concatenate([p.data.ravel() for p in m.parameters()])


def _set_flat(m, v):
    i = 0
    for p in m.parameters():
        p.data[...] = v[i:i + p.size].reshape(p.shape)
        i += p.size


def _fd_check(cls, backend, batch_first, dropout=0.0, nonlinearity=None, unbatched=False):
    kw = dict(num_layers=2, bidirectional=True, batch_first=batch_first, dropout=dropout, rng=3)
    if nonlinearity:
        kw["nonlinearity"] = nonlinearity
    m = build(cls, 3, 2, **kw)
    rng = np.random.default_rng(5)
    T, N = 3, 2
    shape = (T, 3) if unbatched else ((N, T, 3) if batch_first else (T, N, 3))
    x = rng.standard_normal(shape)
    sshape = (4, 2) if unbatched else (4, N, 2)
    s0 = [rng.standard_normal(sshape) * 0.5 for _ in range(2 if cls == "LSTM" else 1)]
    state = tuple(s0) if cls == "LSTM" else s0[0]

    def run(xx, flat):
        _set_flat(m, flat)
        m.rng = np.random.default_rng(11)          # the same dropout masks on every call
        out, st = m(xx, state)
        return out, states(cls, st)

    def fn(xx, flat):
        out, sts = run(xx, flat)
        return np.concatenate([out.ravel()] + [s.ravel() for s in sts])

    def analytic(dout, xx, flat):
        out, sts = run(xx, flat)
        parts, i = [], out.size
        d_out = dout[:i].reshape(out.shape)
        for s in sts:
            parts.append(dout[i:i + s.size].reshape(s.shape))
            i += s.size
        m.zero_grad()
        dx = m.backward(d_out, tuple(parts) if cls == "LSTM" else parts[0])
        return dx, np.concatenate([p.grad.ravel() for p in m.parameters()])

    with fastnn.use_backend(backend):
        gradcheck(fn, [x, _flat(m)], analytic=analytic, names=["x", "params"], **TOL["gradcheck"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", CLASSES)
def test_gradcheck_two_layer_bidirectional(cls, backend):
    _fd_check(cls, backend, batch_first=(cls != "GRU"))


def test_gradcheck_relu_dropout_unbatched():
    _fd_check("RNN", "reference", batch_first=False, nonlinearity="relu")
    _fd_check("LSTM", "compiled", batch_first=True, dropout=0.5)
    _fd_check("GRU", "reference", batch_first=False, dropout=0.3)
    _fd_check("GRU", "compiled", batch_first=False, unbatched=True)


def test_dropout_only_in_training():
    m = build("GRU", 3, 4, num_layers=2, dropout=0.5, rng=0)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a, b)          # fresh masks each call
    m.eval()
    c, _ = m(x)
    d, _ = m(x)
    np.testing.assert_array_equal(c, d)
    m0 = build("GRU", 3, 4, num_layers=2, dropout=0.0, rng=0)
    np.testing.assert_array_equal(m0(x)[0], c)


# ---- PyTorch parity -------------------------------------------------------------------------------

CONFIGS = list(itertools.product([1, 2], [False, True], [False, True], [True, False]))


@needs_torch
@pytest.mark.parametrize("cls", CLASSES)
def test_matches_torch(cls):
    import torch
    rng = np.random.default_rng(0)
    T, N, D, H = 4, 3, 5, 3
    for layers, bidir, bf, bias in CONFIGS:
        kw = dict(num_layers=layers, bidirectional=bidir, batch_first=bf, bias=bias)
        t = getattr(torch.nn, cls)(D, H, **kw).double()
        m = build(cls, D, H, **kw)
        m.load_state_dict(t.state_dict())
        x = rng.standard_normal((N, T, D) if bf else (T, N, D))
        L = layers * (2 if bidir else 1)
        s0 = [rng.standard_normal((L, N, H)) for _ in range(2 if cls == "LSTM" else 1)]
        xt = torch.tensor(x, requires_grad=True)
        st = [torch.tensor(s, requires_grad=True) for s in s0]
        tout, tst = t(xt, tuple(st) if cls == "LSTM" else st[0])
        tst = states(cls, tst)
        dout = rng.standard_normal(tout.shape)
        dst = [rng.standard_normal(s.shape) for s in tst]
        loss = (tout * torch.tensor(dout)).sum() + sum((s * torch.tensor(g)).sum() for s, g in zip(tst, dst))
        loss.backward()
        results = []
        for backend in BACKENDS:
            with fastnn.use_backend(backend):
                m.zero_grad()
                out, ost = m(x, tuple(s0) if cls == "LSTM" else s0[0])
                dx = m.backward(dout, tuple(dst) if cls == "LSTM" else dst[0])
            what = f"{cls} {kw} {backend}"
            assert_close(out, tout.detach().numpy(), what=what + " out")
            for a, b in zip(states(cls, ost), tst):
                assert_close(a, b.detach().numpy(), what=what + " state")
            assert_close(dx, xt.grad.numpy(), what=what + " dx")
            for a, b in zip(states(cls, m.dstate0), st):
                assert_close(a, b.grad.numpy(), what=what + " dstate0")
            for (n, p), (tn, tp) in zip(m.named_parameters(), t.named_parameters()):
                assert n == tn
                assert_close(p.grad, tp.grad.numpy(), what=f"{what} {n}.grad")
            results.append([out, dx] + [p.grad for p in m.parameters()])
        for a, b in zip(*results):
            assert_close(a, b, what=f"{cls} {kw} compiled vs reference")


@needs_torch
def test_float32_and_unbatched_match_torch():
    import torch
    rng = np.random.default_rng(1)
    for cls in CLASSES:
        t = getattr(torch.nn, cls)(4, 3, num_layers=2, bidirectional=True)
        m = build(cls, 4, 3, num_layers=2, bidirectional=True, dtype=np.float32)
        m.load_state_dict(t.state_dict())
        x = rng.standard_normal((5, 4)).astype(np.float32)      # unbatched (T, D)
        tout, tst = t(torch.tensor(x))
        out, st = m(x)
        assert out.shape == (5, 6) and out.dtype == np.float32
        assert_close(out, tout.detach().numpy(), approx=True, what=cls)
        for a, b in zip(states(cls, st), states(cls, tst)):
            assert a.shape == (4, 3)
            assert_close(a, b.detach().numpy(), approx=True, what=cls)
        dx = m.backward(np.ones_like(out))
        assert dx.shape == x.shape and dx.dtype == np.float32


def test_grads_accumulate_and_defaults():
    m = build("LSTM", 3, 2, num_layers=2, rng=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    out, _ = m(x)
    m.backward(np.ones_like(out))
    g1 = [p.grad.copy() for p in m.parameters()]
    m(x)
    m.backward(np.ones_like(out))
    for a, p in zip(g1, m.parameters()):
        assert_close(p.grad, 2 * a)
    # dout None = zeros: only the final-state gradient flows
    m.zero_grad()
    m(x)
    dx = m.backward(None, (np.ones((2, 2, 2)), None))
    assert dx.shape == x.shape and np.abs(dx).max() > 0


def test_state_dict_round_trip_and_inputs_untouched():
    a = build("GRU", 3, 4, num_layers=2, bidirectional=True, rng=0)
    b = build("GRU", 3, 4, num_layers=2, bidirectional=True, rng=1)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    x0 = x.copy()
    h0 = np.random.default_rng(1).standard_normal((4, 2, 4))
    h00 = h0.copy()
    np.testing.assert_array_equal(a(x, h0)[0], b(x, h0)[0])
    dout = np.ones((5, 2, 8))
    b.backward(dout)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(h0, h00)
    np.testing.assert_array_equal(dout, 1)
    assert list(a.state_dict()) == [n for n, _ in a.named_parameters()]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input(cls, backend):
    m = build(cls, 3, 4, num_layers=2)
    x = np.zeros((5, 2, 3))
    with fastnn.use_backend(backend):
        with pytest.raises(ValueError, match="input_size"):
            m(np.zeros((5, 2, 4)))
        with pytest.raises(ValueError, match="input_size"):
            m(np.zeros((5, 2, 1, 3)))
        with pytest.raises(TypeError, match="dtype"):
            m(x.astype(np.float32))
        with pytest.raises(TypeError):
            m([[1.0]])
        bad = np.zeros((1, 2, 4))
        with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 4\)"):
            m(x, (bad, bad) if cls == "LSTM" else bad)
        if cls == "LSTM":
            with pytest.raises(TypeError, match="tuple"):
                m(x, np.zeros((2, 2, 4)))
        with pytest.raises(RuntimeError, match="before forward"):
            build(cls, 3, 4).backward(np.zeros((5, 2, 4)))
        out, _ = m(x)
        with pytest.raises(ValueError, match="dout"):
            m.backward(np.zeros((5, 2, 5)))
        with pytest.raises(ValueError, match="dh_n"):
            m.backward(out, (np.zeros((1, 2, 4)), None) if cls == "LSTM" else np.zeros((1, 2, 4)))
    with pytest.raises(ValueError):
        build(cls, 3, 4, dropout=1.5)
    with pytest.raises(TypeError):
        build(cls, 3.0, 4)
    with pytest.raises(TypeError):
        build(cls, 3, 4, dtype=np.int32)
    if cls == "LSTM":
        with pytest.raises(NotImplementedError):
            nn.LSTM(3, 4, proj_size=2)
    if cls == "RNN":
        with pytest.raises(ValueError, match="nonlinearity"):
            nn.RNN(3, 4, nonlinearity="sigmoid")


# ---- Embedding ------------------------------------------------------------------------------------

def test_embedding_init_and_grad():
    e = nn.Embedding(6, 3, padding_idx=-2, rng=0)
    assert e.padding_idx == 4 and e.weight.shape == (6, 3) and e.weight.dtype == np.float32
    np.testing.assert_array_equal(e.weight.data[4], 0)
    assert np.abs(e.weight.data).max() > 0.1
    idx = np.array([[0, 4, 2], [2, 5, 0]], np.int64)
    for backend in BACKENDS:
        with fastnn.use_backend(backend):
            e.zero_grad()
            y = e(idx)
            np.testing.assert_array_equal(y, e.weight.data[idx])
            assert e.backward(np.ones((2, 3, 3), np.float32)) is None
            expect = np.zeros((6, 3), np.float32)
            np.add.at(expect, idx.ravel(), 1)
            expect[4] = 0
            assert_close(e.weight.grad, expect)
    with pytest.raises(TypeError):
        e(idx.astype(np.int32))
    with pytest.raises(ValueError):
        e(np.array([6], np.int64))
    with pytest.raises(ValueError):
        nn.Embedding(6, 3, padding_idx=6)


@needs_torch
def test_embedding_matches_torch():
    import torch
    for pad in (None, 1, -1):
        t = torch.nn.Embedding(7, 4, padding_idx=pad).double()
        e = nn.Embedding(7, 4, padding_idx=pad, dtype=np.float64)
        assert repr(e) == repr(t)
        e.load_state_dict(t.state_dict())
        idx = np.array([[1, 6, 3, 1], [0, 6, 6, 2]], np.int64)
        ty = t(torch.tensor(idx))
        dout = np.random.default_rng(0).standard_normal(ty.shape)
        ty.backward(torch.tensor(dout))
        for backend in BACKENDS:
            with fastnn.use_backend(backend):
                e.zero_grad()
                assert_close(e(idx), ty.detach().numpy())
                e.backward(dout)
                assert_close(e.weight.grad, t.weight.grad.numpy())
    # torch's own initialisation zeroes the padding row too
    assert nn.Embedding(5, 2, padding_idx=0).state_dict()["weight"][0].tolist() == [0, 0]


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_huge_num_layers_raises_before_allocating(cls):
    # num_layers=2**63-1 looped allocating layers until memory ran out
    from fastnn import nn
    for kw in (dict(num_layers=2**63 - 1), dict(num_layers=10**19), dict(hidden_size=2**40)):
        args = dict(input_size=3, hidden_size=4) | kw
        with pytest.raises(ValueError, match="too large"):
            getattr(nn, cls)(**args)
