"""linear family: parity compiled vs reference, gradients, bad input."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

ACTS = [None, "relu", "sigmoid", "tanh"]
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 3, 1), (17, 33, 9), (64, 784, 256), (3, 0, 4), (0, 5, 2)]


@pytest.mark.parametrize("n,fin,fout", SHAPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("bias", [True, False])
def test_parity(rng, dtype, n, fin, fout, act, bias):
    # weights scaled as an initialised layer's, so pre-activations are O(1): the activation
    # then sees the GEMM's rounding at the scale the tolerance table assumes
    x, w = make(rng, (n, fin), dtype), make(rng, (fout, fin), dtype) / np.sqrt(max(fin, 1)).astype(dtype)
    b = make(rng, (fout,), dtype) if bias else None
    y, ctx = F.linear_forward(x, w, b, act)
    yr, ctxr = R.linear_forward(x, w, b, act)
    assert_close(y, yr, dtype, "y")
    dy = make(rng, y.shape, dtype)
    for got, want, name in zip(F.linear_backward(dy, ctx), R.linear_backward(dy, ctxr), ("dx", "dw", "db")):
        assert_close(got, want, dtype, name)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, layout):
    x, w, b = make(rng, (6, 5), dtype, layout), make(rng, (4, 5), dtype, layout), make(rng, (4,), dtype, layout)
    copies = [a.copy() for a in (x, w, b)]
    y, ctx = F.linear_forward(x, w, b, "tanh")
    dy = make(rng, y.shape, dtype, layout)
    dyc = dy.copy()
    grads = F.linear_backward(dy, ctx)
    yr, ctxr = R.linear_forward(np.ascontiguousarray(x), np.ascontiguousarray(w), b.copy(), "tanh")
    assert_close(y, yr, dtype)
    for g, gr in zip(grads, R.linear_backward(dyc, ctxr)):
        assert_close(g, gr, dtype)
    for a, c in zip((x, w, b, dy), copies + [dyc]):
        np.testing.assert_array_equal(a, c)


def test_byteswapped_input(rng):
    x = make(rng, (3, 4), np.float64).astype(">f8")
    w = make(rng, (2, 4), np.float64)
    y, _ = F.linear_forward(x, w)
    assert_close(y, x.astype(np.float64) @ w.T, np.float64)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("act", ACTS)
def test_gradcheck(rng, impl, act):
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    if act == "relu":   # keep pre-activations away from the kink
        x += np.sign(x) * 0.1
    gradcheck(lambda x, w, b: impl.linear_forward(x, w, b, act)[0], [x, w, b],
              analytic=lambda dy, x, w, b: impl.linear_backward(dy, impl.linear_forward(x, w, b, act)[1]),
              names=["x", "weight", "bias"], **TOL["gradcheck"])


def test_large_logits_sigmoid_stable(dtype):
    x = np.array([[1.0], [-1.0]], dtype=dtype)
    w = np.array([[1e4]], dtype=dtype)
    y, _ = F.linear_forward(x, w, None, "sigmoid")
    assert np.all(np.isfinite(y)) and y[0, 0] == 1 and y[1, 0] == 0


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_bad_input(impl):
    x, w, b = np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), np.ones(4, np.float32)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        impl.linear_forward([[1.0, 2.0, 3.0]], w)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        impl.linear_forward(np.ones((2, 3), np.int64), w)
    with pytest.raises(TypeError, match="float16"):
        impl.linear_forward(np.ones((2, 3), np.float16), w)
    with pytest.raises(TypeError, match="weight has dtype float64 but x has dtype float32"):
        impl.linear_forward(x, w.astype(np.float64))
    with pytest.raises(TypeError, match="bias has dtype"):
        impl.linear_forward(x, w, b.astype(np.float64))
    with pytest.raises(ValueError, match=r"weight \(4, 2\) does not match x \(2, 3\)"):
        impl.linear_forward(x, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"x must be 2-D"):
        impl.linear_forward(np.ones(3, np.float32), w)
    with pytest.raises(ValueError, match=r"weight must be 2-D"):
        impl.linear_forward(x, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        impl.linear_forward(x, w, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="activation must be one of"):
        impl.linear_forward(x, w, b, "softplus")
    y, ctx = impl.linear_forward(x, w, b)
    with pytest.raises(ValueError, match=r"dy must have the forward output's shape"):
        impl.linear_backward(np.ones((2, 5), np.float32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64"):
        impl.linear_backward(np.ones((2, 4), np.float64), ctx)


def test_backward_rejects_foreign_ctx():
    _, ctx = R.linear_forward(np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(TypeError):
        F.linear_backward(np.ones((1, 1)), ctx)
    with pytest.raises(TypeError):
        F.linear_backward(np.ones((1, 1)), None)


@needs_torch
@pytest.mark.parametrize("act", ACTS)
def test_matches_torch(rng, act):
    import torch
    x, w, b = rng.standard_normal((8, 6)), rng.standard_normal((5, 6)), rng.standard_normal(5)
    y, ctx = F.linear_forward(x, w, b, act)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty = {None: ty, "relu": torch.relu(ty), "sigmoid": torch.sigmoid(ty), "tanh": torch.tanh(ty)}[act]
    dy = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), np.float64)
    for g, t in zip(F.linear_backward(dy, ctx), (tx, tw, tb)):
        assert_close(g, t.grad.numpy(), np.float64)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_backward_without_input_grad(rng, dtype, impl):
    x, w, b = make(rng, (5, 4), dtype), make(rng, (3, 4), dtype), make(rng, (3,), dtype)
    y, ctx = impl.linear_forward(x, w, b, "relu")
    dy = make(rng, y.shape, dtype)
    dx, dw, db = impl.linear_backward(dy, ctx, input_grad=False)
    full = impl.linear_backward(dy, ctx)
    assert dx is None
    assert_close(dw, full[1], dtype)
    assert_close(db, full[2], dtype)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

def test_backward_rejects_a_foreign_ctx(backend):
    # the reference raised AttributeError for None / a ctx of another function
    _, ctx = backend.relu_forward(np.ones((2, 3)))
    for bad in (ctx, None, object()):
        with pytest.raises(TypeError, match="ctx"):
            backend.linear_backward(np.ones((2, 3)), bad)


def test_byte_swapped_arrays_are_not_mixed_dtypes(backend, dtype):
    # the reference called a byte-swapped weight "mixed dtypes" (the binding copies it)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((2, 3)).astype(dtype)
    want, _ = backend.linear_forward(x, w)
    got, _ = backend.linear_forward(x, w.astype(w.dtype.newbyteorder()))
    assert_close(got, want, dtype)
