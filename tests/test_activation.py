"""activation family: parity compiled vs reference, gradients, special values, bad input, torch."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch, check_bad_input

OPS = ["relu", "leaky_relu", "sigmoid", "tanh", "sign", "gelu"]
# ops whose compiled kernel uses mathfn.h's vectorised exp/tanh (a few ulp, not correctly rounded)
APPROX = {"sigmoid", "tanh", "gelu"}
SHAPES = [(), (0,), (1,), (7,), (3, 0, 2), (5, 3), (2, 3, 5), (2, 3, 4, 5), (70001,)]


def fwd(impl, op, x):
    return getattr(impl, f"{op}_forward")(x)


def bwd(impl, op, dy, ctx):
    return getattr(impl, f"{op}_backward")(dy, ctx)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_parity(rng, dtype, op, shape):
    x = np.asarray(make(rng, shape, dtype) * 3)    # make() gives a numpy scalar for shape ()
    y, ctx = fwd(F, op, x)
    yr, ctxr = fwd(R, op, x)
    assert y.flags.c_contiguous and y.dtype == dtype
    assert_close(y, yr, dtype, "y", approx=op in APPROX)
    dy = np.asarray(make(rng, shape, dtype))
    dx = bwd(F, op, dy, ctx)
    assert_close(dx, bwd(R, op, dy, ctxr), dtype, "dx", approx=op in APPROX)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, op, layout):
    x = make(rng, (6, 5), dtype, layout)
    dy = make(rng, (6, 5), dtype, layout)
    xc, dyc = x.copy(), dy.copy()
    y, ctx = fwd(F, op, x)
    dx = bwd(F, op, dy, ctx)
    yr, ctxr = fwd(R, op, xc)
    assert_close(y, yr, dtype, approx=op in APPROX)
    assert_close(dx, bwd(R, op, dyc, ctxr), dtype, approx=op in APPROX)
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(dy, dyc)


def test_byteswapped_input(rng):
    x = make(rng, (3, 4), np.float64).astype(">f8")
    y, _ = F.tanh_forward(x)
    assert_close(y, np.tanh(x.astype(np.float64)), np.float64)


def test_leaky_relu_slope(rng, dtype):
    x = make(rng, (50,), dtype)
    for slope in (0.0, 0.2, -0.5, 3.0):
        y, ctx = F.leaky_relu_forward(x, slope)
        yr, ctxr = R.leaky_relu_forward(x, negative_slope=slope)
        assert_close(y, yr, dtype)
        assert ctx.negative_slope == ctxr.negative_slope == slope
        assert_close(F.leaky_relu_backward(x, ctx), R.leaky_relu_backward(x, ctxr), dtype)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_special_values(impl, dtype):
    inf, nan = np.inf, np.nan
    x = np.array([-inf, -1e4, -1.0, -0.0, 0.0, 1.0, 1e4, inf, nan], dtype)
    ones = np.ones_like(x)
    y, ctx = impl.relu_forward(x)
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 0, 1, 1e4, inf, nan])
    np.testing.assert_array_equal(impl.relu_backward(ones, ctx), [0, 0, 0, 0, 0, 1, 1, 1, 1])  # torch
    y, ctx = impl.leaky_relu_forward(x, 0.5)
    np.testing.assert_array_equal(y, [-inf, -5e3, -0.5, 0, 0, 1, 1e4, inf, nan])
    np.testing.assert_array_equal(impl.leaky_relu_backward(ones, ctx), [.5, .5, .5, .5, .5, 1, 1, 1, .5])
    y, ctx = impl.sigmoid_forward(x)
    np.testing.assert_array_equal(y[[0, 1, 6, 7]], [0, 0, 1, 1])
    assert y[3] == y[4] == 0.5 and np.isnan(y[8])
    assert np.all(np.isfinite(impl.sigmoid_backward(ones, ctx)[:8]))
    y, ctx = impl.tanh_forward(x)
    np.testing.assert_array_equal(y[[0, 1, 3, 4, 6, 7]], [-1, -1, 0, 0, 1, 1])
    assert np.signbit(y[3]) and np.isnan(y[8])
    y, ctx = impl.sign_forward(x)
    np.testing.assert_array_equal(y, [-1, -1, -1, 0, 0, 1, 1, 1, nan])
    np.testing.assert_array_equal(impl.sign_backward(ones * nan, ctx), np.zeros_like(x))
    y, ctx = impl.gelu_forward(x)
    np.testing.assert_array_equal(y[[1, 3, 4, 6, 7]], [0, 0, 0, 1e4, inf])
    assert np.isnan(y[8])


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("op", OPS)
def test_gradcheck(rng, impl, op):
    x = rng.standard_normal((3, 4)) * 2
    x += np.sign(x) * 0.1          # keep away from the kinks of relu, leaky relu and sign
    gradcheck(lambda x: fwd(impl, op, x)[0], [x],
              analytic=lambda dy, x: (bwd(impl, op, dy, fwd(impl, op, x)[1]),),
              names=["x"], **TOL["gradcheck"])


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("op", OPS)
def test_bad_input(impl, op):
    check_bad_input(impl, op, "tanh" if op != "tanh" else "relu")


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_bad_slope(impl):
    for bad in ("0.1", None, [0.1]):
        with pytest.raises(TypeError):
            impl.leaky_relu_forward(np.ones(2), bad)


def test_threads_agree(rng):
    """A big array (split across threads) gives the same answer as the same data in small pieces."""
    import fastnn
    x = make(rng, (300001,), np.float32)
    old = fastnn.get_num_threads()
    try:
        for op in OPS:
            fastnn.set_num_threads(2)
            y2 = fwd(F, op, x)[0]
            fastnn.set_num_threads(1)
            np.testing.assert_array_equal(y2, fwd(F, op, x)[0])
    finally:
        fastnn.set_num_threads(old)


@needs_torch
@pytest.mark.parametrize("op", OPS)
def test_matches_torch(rng, dtype, op):
    import torch
    tf = {"relu": torch.relu, "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
          "sigmoid": torch.sigmoid, "tanh": torch.tanh, "sign": torch.sign,
          "gelu": lambda t: torch.nn.functional.gelu(t, approximate="none")}[op]
    x = make(rng, (4, 33), dtype) * 4
    x[0, :3] = [0.0, -0.0, 40.0]
    x[1, :2] = [-40.0, 1e4]
    y, ctx = fwd(F, op, x)
    tx = torch.tensor(x, requires_grad=True)
    ty = tf(tx)
    dy = make(rng, x.shape, dtype)
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), dtype, "y", approx=op in APPROX)
    assert_close(bwd(F, op, dy, ctx), tx.grad.numpy(), dtype, "dx", approx=op in APPROX)
