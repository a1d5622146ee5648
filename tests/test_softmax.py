"""softmax family: parity compiled vs reference over shapes, axes and layouts; gradients; extreme
logits; rows of -inf / +inf / NaN (as torch); bad input; torch."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch, check_bad_input

OPS = ["softmax", "log_softmax"]
SHAPES = [(1,), (7,), (1, 1), (5, 3), (0, 4), (4, 0), (2, 3, 5), (2, 3, 4, 5), (3, 1000),
          (2, 300, 3), (600, 2, 257)]


def fwd(impl, op, x, axis=-1):
    return getattr(impl, f"{op}_forward")(x, axis)


def bwd(impl, op, dy, ctx):
    return getattr(impl, f"{op}_backward")(dy, ctx)


def check_parity(rng, dtype, op, x, axis):
    y, ctx = fwd(F, op, x, axis)
    yr, ctxr = fwd(R, op, x, axis)
    assert y.flags.c_contiguous and y.dtype == dtype and y.shape == x.shape
    assert ctx.axis == ctxr.axis
    assert_close(y, yr, dtype, "y", approx=True)          # mathfn.h's exp: a few ulp in float32
    dy = np.asarray(make(rng, x.shape, dtype))
    assert_close(bwd(F, op, dy, ctx), bwd(R, op, dy, ctxr), dtype, "dx", approx=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_parity_every_axis(rng, dtype, op, shape):
    for axis in list(range(len(shape))) + [-1, -len(shape)]:
        check_parity(rng, dtype, op, make(rng, shape, dtype) * 4, axis)


@pytest.mark.parametrize("op", OPS)
def test_zero_dim(rng, dtype, op):
    x = np.asarray(dtype(2.5))
    for axis in (0, -1):
        check_parity(rng, dtype, op, x, axis)
    y, _ = fwd(F, op, x)
    assert y.shape == () and y == (1 if op == "softmax" else 0)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_layouts_and_inputs_untouched(rng, dtype, op, layout, axis):
    x = make(rng, (6, 5, 4), dtype, layout)
    dy = make(rng, (6, 5, 4), dtype, layout)
    xc, dyc = x.copy(), dy.copy()
    y, ctx = fwd(F, op, x, axis)
    dx = bwd(F, op, dy, ctx)
    yr, ctxr = fwd(R, op, xc, axis)
    assert_close(y, yr, dtype, approx=True)
    assert_close(dx, bwd(R, op, dyc, ctxr), dtype, approx=True)
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(dy, dyc)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_extreme_logits(impl, dtype):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4], [1e4, 1e4, 1e4]], dtype)
    y, _ = impl.softmax_forward(x)
    assert np.all(np.isfinite(y))
    assert_close(y[0], np.array([1, 0, 0], dtype), dtype)
    e = np.exp(np.array([0.0, 1.0, 0.0]))
    assert_close(y[1], (e / e.sum()).astype(dtype), dtype, approx=True)
    assert_close(y[2], np.full(3, 1 / 3, dtype), dtype, approx=True)
    ly, _ = impl.log_softmax_forward(x)
    assert np.all(np.isfinite(ly))
    assert_close(ly[0], np.array([0, -1e4, -2e4], dtype), dtype)
    # axis 0, strided in C
    y0, _ = impl.softmax_forward(np.ascontiguousarray(x.T), 0)
    assert_close(y0, y.T, dtype, approx=True)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_infinities_like_torch(impl, dtype, axis):
    """torch: a row of only -inf gives NaN; a -inf logit gives probability 0 (log-prob -inf);
    a +inf or NaN logit makes its row NaN."""
    inf, nan = np.inf, np.nan
    x = np.array([[-inf, -inf, -inf], [0.0, -inf, 1.0], [inf, 0.0, 1.0], [nan, 0.0, 1.0]], dtype)
    if axis == 0:
        x = np.ascontiguousarray(x.T)
    y, ctx = impl.softmax_forward(x, axis)
    ly, lctx = impl.log_softmax_forward(x, axis)
    if axis == 0:
        y, ly = y.T, ly.T
    assert np.all(np.isnan(y[[0, 2, 3]])) and np.all(np.isnan(ly[[0, 2, 3]]))
    e = np.exp(np.array([-1.0, 0.0]))
    assert y[1, 1] == 0 and ly[1, 1] == -inf
    assert_close(y[1, [0, 2]], (e / e.sum()).astype(dtype), dtype, approx=True)
    dy = np.ones_like(x)
    dx = impl.softmax_backward(dy, ctx)
    ldx = impl.log_softmax_backward(dy, lctx)
    if axis == 0:
        dx, ldx = dx.T, ldx.T
    np.testing.assert_array_equal(dx[1], [0, 0, 0])
    assert ldx[1, 1] == 1 and np.all(np.isnan(dx[0]))


def test_threads_agree(rng):
    import fastnn
    old = fastnn.get_num_threads()
    try:
        for shape, axis in [((257, 300), -1), ((20, 300, 33), 1)]:
            x = make(rng, shape, np.float32)
            for op in OPS:
                fastnn.set_num_threads(2)
                y2 = fwd(F, op, x, axis)[0]
                fastnn.set_num_threads(1)
                np.testing.assert_array_equal(y2, fwd(F, op, x, axis)[0])
    finally:
        fastnn.set_num_threads(old)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gradcheck(rng, impl, op, axis):
    x = rng.standard_normal((3, 4, 2)) * 2
    gradcheck(lambda x: fwd(impl, op, x, axis)[0], [x],
              analytic=lambda dy, x: (bwd(impl, op, dy, fwd(impl, op, x, axis)[1]),),
              names=["x"], **TOL["gradcheck"])


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("op", OPS)
def test_bad_input(impl, op):
    check_bad_input(impl, op, "log_softmax" if op == "softmax" else "softmax")
    f = getattr(impl, f"{op}_forward")
    x = np.ones((2, 3), np.float32)
    for axis in (2, -3, 100):
        with pytest.raises(ValueError, match=rf"axis {axis} is out of range for x of shape \(2, 3\)"):
            f(x, axis)
    with pytest.raises(ValueError, match=r"axis 1 is out of range for x of shape \(\)"):
        f(np.ones((), np.float32), 1)
    with pytest.raises(TypeError):
        f(x, 1.5)


@needs_torch
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_matches_torch(rng, dtype, op, axis):
    import torch
    x = make(rng, (5, 7, 9), dtype) * 5
    x[0, 0, 0] = 1e4
    y, ctx = fwd(F, op, x, axis)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch, op)(tx, axis)
    dy = make(rng, x.shape, dtype)
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), dtype, "y", approx=True)
    assert_close(bwd(F, op, dy, ctx), tx.grad.numpy(), dtype, "dx", approx=True)


@needs_torch
def test_all_neg_inf_row_matches_torch(dtype):
    import torch
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]], dtype)
    for op in OPS:
        y, _ = fwd(F, op, x)
        np.testing.assert_array_equal(y, getattr(torch, op)(torch.tensor(x), -1).numpy())


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_numpy_integer_axis(impl):
    x = make(np.random.default_rng(3), (2, 3, 4), np.float32)
    for op in OPS:
        want = fwd(impl, op, x, 1)[0]
        for axis in (np.int64(1), np.int32(-2), np.intp(1)):
            y, ctx = fwd(impl, op, x, axis)
            np.testing.assert_array_equal(y, want)
            assert ctx.axis == 1


@pytest.mark.parametrize("n", [255, 256, 257, 1000, 5000])
def test_long_rows_sum_to_one(rng, dtype, n):
    # the row sum is formed in blocks of 256 (float partial sums, double across blocks)
    x = make(rng, (3, n), dtype) * 3
    y, _ = F.softmax_forward(x)
    assert_close(y.sum(axis=-1, dtype=np.float64).astype(dtype), np.ones(3, dtype), dtype, "row sums",
                 approx=True)
    check_parity(rng, dtype, "softmax", x, -1)
    check_parity(rng, dtype, "log_softmax", x, -1)


@pytest.mark.parametrize("shape", [(1, 300_001), (2, 131_072), (200_000,)])
def test_long_rows_split_across_threads(rng, dtype, shape):
    # fewer rows than threads and >= 2 chunks of 65536: each row is split across threads; the
    # result must equal the single-thread one bit for bit, and the reference's
    import fastnn
    old = fastnn.get_num_threads()
    x = make(rng, shape, dtype) * 4
    dy = make(rng, shape, dtype)
    try:
        for op in OPS:
            fastnn.set_num_threads(2)
            y2, ctx2 = fwd(F, op, x, -1)
            dx2 = bwd(F, op, dy, ctx2)
            fastnn.set_num_threads(1)
            y1, ctx1 = fwd(F, op, x, -1)
            np.testing.assert_array_equal(y2, y1)
            np.testing.assert_array_equal(dx2, bwd(F, op, dy, ctx1))
            yr, ctxr = fwd(R, op, x, -1)
            assert_close(y1, yr, dtype, "y", approx=True)
            assert_close(dx2, bwd(R, op, dy, ctxr), dtype, "dx", approx=True)
    finally:
        fastnn.set_num_threads(old)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("op", ["softmax_forward", "log_softmax_forward"])
def test_axis_beyond_int64_is_valueerror(backend, op):
    # the binding raised OverflowError for axis=10**19
    for axis in (10**19, -10**19, 2**63):
        with pytest.raises(ValueError, match="axis"):
            getattr(backend, op)(np.ones((2, 3)), axis)
