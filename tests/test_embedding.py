"""embedding family: parity compiled vs reference, scatter-add gradient, padding_idx, torch,
bad input (out-of-range indices reported by C, no crash)."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, TOL, needs_torch

INDEX_SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 5), (0,), (4, 0)]


@pytest.mark.parametrize("shape", INDEX_SHAPES)
@pytest.mark.parametrize("V,E", [(1, 1), (10, 3), (50, 33), (7, 0)])
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_parity(rng, dtype, shape, V, E, padding_idx):
    idx = rng.integers(0, V, size=shape).astype(np.int64)
    w = make(rng, (V, E), dtype)
    out, ctx = F.embedding_forward(idx, w, padding_idx)
    outr, ctxr = R.embedding_forward(idx, w, padding_idx)
    assert out.shape == shape + (E,)
    np.testing.assert_array_equal(out, outr)
    dout = make(rng, out.shape, dtype)
    dw, dwr = F.embedding_backward(dout, ctx), R.embedding_backward(dout, ctxr)
    assert_close(dw, dwr, dtype, "dweight")
    if padding_idx is not None:
        assert not dw[padding_idx].any()


def test_repeated_indices_accumulate(dtype):
    idx = np.array([[1, 1, 3], [1, 0, 3]], np.int64)
    w = np.zeros((5, 2), dtype)
    out, ctx = F.embedding_forward(idx, w)
    dout = np.arange(12, dtype=dtype).reshape(2, 3, 2)
    dw = F.embedding_backward(dout, ctx)
    want = np.zeros((5, 2), dtype)
    want[1] = dout[0, 0] + dout[0, 1] + dout[1, 0]
    want[3] = dout[0, 2] + dout[1, 2]
    want[0] = dout[1, 1]
    np.testing.assert_array_equal(dw, want)


def test_large_threaded_parity(rng, dtype):
    """Big enough that the kernels split across threads (columns in the backward)."""
    idx = rng.integers(0, 300, size=(64, 50)).astype(np.int64)
    w = make(rng, (300, 130), dtype)
    out, ctx = F.embedding_forward(idx, w, 5)
    outr, ctxr = R.embedding_forward(idx, w, 5)
    np.testing.assert_array_equal(out, outr)
    dout = make(rng, out.shape, dtype)
    assert_close(F.embedding_backward(dout, ctx), R.embedding_backward(dout, ctxr), dtype)


@pytest.mark.parametrize("layout", ["f", "strided", "ro"])
def test_layouts_and_inputs_untouched(rng, dtype, layout):
    idx = rng.integers(0, 9, size=(4, 6)).astype(np.int64)
    idx = {"f": np.asfortranarray(idx), "strided": np.repeat(idx, 2, axis=1)[:, ::2]}.get(layout, idx)
    if layout == "ro":
        idx.setflags(write=False)
    w = make(rng, (9, 5), dtype, layout)
    copies = idx.copy(), w.copy()
    out, ctx = F.embedding_forward(idx, w)
    dout = make(rng, out.shape, dtype, layout)
    dcopy = dout.copy()
    dw = F.embedding_backward(dout, ctx)
    outr, ctxr = R.embedding_forward(copies[0], copies[1])
    np.testing.assert_array_equal(out, outr)
    assert_close(dw, R.embedding_backward(dcopy, ctxr), dtype)
    np.testing.assert_array_equal(idx, copies[0])
    np.testing.assert_array_equal(w, copies[1])
    np.testing.assert_array_equal(dout, dcopy)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_gradcheck(rng, impl):
    idx = np.array([[0, 2, 2], [3, 0, 2]], np.int64)
    w = rng.standard_normal((4, 3))
    # no padding_idx here: its row's zero gradient is a convention, not the derivative
    gradcheck(lambda w: impl.embedding_forward(idx, w)[0], [w],
              analytic=lambda d, w: (impl.embedding_backward(d, impl.embedding_forward(idx, w)[1]),),
              names=["weight"], **TOL["gradcheck"])


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_matches_torch(rng, padding_idx):
    import torch
    idx = rng.integers(0, 6, size=(5, 4)).astype(np.int64)
    w = rng.standard_normal((6, 3))
    out, ctx = F.embedding_forward(idx, w, padding_idx)
    tw = torch.tensor(w, requires_grad=True)
    tout = torch.nn.functional.embedding(torch.from_numpy(idx), tw, padding_idx)
    dout = rng.standard_normal(out.shape)
    tout.backward(torch.from_numpy(dout))
    assert_close(out, tout.detach().numpy(), np.float64)
    assert_close(F.embedding_backward(dout, ctx), tw.grad.numpy(), np.float64)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_bad_input(impl):
    w = np.ones((5, 3), np.float32)
    idx = np.array([0, 4, 1], np.int64)
    with pytest.raises(TypeError, match="indices must be a numpy.ndarray of int64"):
        impl.embedding_forward([0, 1], w)
    with pytest.raises(TypeError, match="indices must have dtype int64, got int32"):
        impl.embedding_forward(idx.astype(np.int32), w)
    with pytest.raises(TypeError, match="indices must have dtype int64, got float64"):
        impl.embedding_forward(idx.astype(np.float64), w)
    with pytest.raises(TypeError, match="weight must have dtype float32 or float64, got int64"):
        impl.embedding_forward(idx, np.ones((5, 3), np.int64))
    with pytest.raises(ValueError, match="weight must be 2-D"):
        impl.embedding_forward(idx, np.ones(5, np.float32))
    with pytest.raises(ValueError, match=r"indices out of range: flat position 2 holds 5, not in \[0, 5\)"):
        impl.embedding_forward(np.array([0, 1, 5, -1], np.int64), w)
    with pytest.raises(ValueError, match=r"flat position 3 holds -1"):
        impl.embedding_forward(np.array([[0, 1], [2, -1]], np.int64), w)
    with pytest.raises(ValueError, match=r"holds 9223372036854775807"):
        impl.embedding_forward(np.array([np.iinfo(np.int64).max], np.int64), w)
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-5, 5\)"):
        impl.embedding_forward(idx, w, 5)
    with pytest.raises(TypeError, match="padding_idx must be None or an int"):
        impl.embedding_forward(idx, w, 1.0)
    out, ctx = impl.embedding_forward(idx, w)
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 3\)"):
        impl.embedding_backward(np.ones((3, 4), np.float32), ctx)
    with pytest.raises(ValueError, match=r"dout must have shape"):
        impl.embedding_backward(np.ones((1, 3, 3), np.float32), ctx)
    with pytest.raises(TypeError, match="dout has dtype float64 but weight has dtype float32"):
        impl.embedding_backward(np.ones((3, 3)), ctx)
    with pytest.raises(TypeError):
        impl.embedding_backward(np.ones((3, 3), np.float32), None)


def test_backward_rejects_foreign_ctx():
    _, ctx = R.embedding_forward(np.zeros(1, np.int64), np.ones((1, 1)))
    with pytest.raises(TypeError):
        F.embedding_backward(np.ones((1, 1)), ctx)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

def test_byte_swapped_indices_and_dout(backend, dtype):
    # the reference rejected byte-swapped int64 indices / dout that the binding accepts
    w = np.arange(12, dtype=dtype).reshape(4, 3)
    idx = np.array([[0, 3], [2, 2]])
    want, ctx = backend.embedding_forward(idx, w)
    got, ctx2 = backend.embedding_forward(idx.astype(idx.dtype.newbyteorder()), w)
    assert_close(got, want, dtype)
    d = np.ones(want.shape, dtype)
    assert_close(backend.embedding_backward(d.astype(d.dtype.newbyteorder()), ctx),
                 backend.embedding_backward(d, ctx), dtype)
