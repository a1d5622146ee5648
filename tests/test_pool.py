"""pool family: max (with argmax), average and global average pooling; parity, gradients,
PyTorch's tie/NaN/padding rules, bad input."""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

# (N, C, H, W, kernel, stride, padding)
CONFIGS = [
    (2, 3, 8, 8, 2, None, 0),                # the common 2x2/2 (fast paths)
    (2, 3, 9, 7, 2, None, 0),                # odd sizes: leftover rows and columns
    (1, 2, 7, 9, 3, 2, 1),                   # overlapping windows with padding
    (2, 2, 6, 7, (3, 2), (1, 2), (1, 1)),    # non-square kernel and stride
    (1, 1, 5, 5, 5, 1, 0),                   # output 1x1
    (3, 2, 4, 6, (2, 4), (2, 4), (1, 2)),    # padding exactly half the kernel
    (2, 4, 5, 5, 3, 3, 0),                   # stride == kernel, not dividing H
    (0, 3, 4, 4, 2, 2, 0),                   # empty batch
]
IDS = [f"N{c[0]}C{c[1]}x{c[2]}x{c[3]}-k{c[4]}s{c[5]}p{c[6]}" for c in CONFIGS]


def distinct(rng, shape, dtype):
    """Values without ties, so that max-pool gradients are smooth."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) + 0.01 * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_max_pool_parity(rng, dtype, cfg):
    n, c, h, w, k, s, p = cfg
    x = make(rng, (n, c, h, w), dtype)
    y, ctx = F.max_pool2d_forward(x, k, s, p)
    yr, ctxr = R.max_pool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(ctx.indices, ctxr.indices)
    assert ctx.indices.dtype == ctxr.indices.dtype == np.int32
    dy = make(rng, y.shape, dtype)
    assert_close(F.max_pool2d_backward(dy, ctx), R.max_pool2d_backward(dy, ctxr), dtype)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool_parity(rng, dtype, cfg, cip):
    n, c, h, w, k, s, p = cfg
    x = make(rng, (n, c, h, w), dtype)
    y, ctx = F.avg_pool2d_forward(x, k, s, p, cip)
    yr, ctxr = R.avg_pool2d_forward(x, k, s, p, cip)
    assert_close(y, yr, dtype, "y")
    dy = make(rng, y.shape, dtype)
    assert_close(F.avg_pool2d_backward(dy, ctx), R.avg_pool2d_backward(dy, ctxr), dtype, "dx")


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (1, 1, 1, 1), (3, 2, 1, 7), (0, 2, 3, 3), (2, 3, 33, 31)])
def test_global_avg_pool_parity(rng, dtype, shape):
    x = make(rng, shape, dtype)
    y, ctx = F.global_avg_pool2d_forward(x)
    yr, ctxr = R.global_avg_pool2d_forward(x)
    assert y.shape == shape[:2] + (1, 1)
    assert_close(y, yr, dtype)
    dy = make(rng, y.shape, dtype)
    assert_close(F.global_avg_pool2d_backward(dy, ctx), R.global_avg_pool2d_backward(dy, ctxr), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, layout):
    x = make(rng, (2, 3, 7, 6), dtype, layout)
    xc = x.copy()
    for fwd, bwd, args in ((F.max_pool2d_forward, F.max_pool2d_backward, (3, 2, 1)),
                           (F.avg_pool2d_forward, F.avg_pool2d_backward, (3, 2, 1, False)),
                           (F.global_avg_pool2d_forward, F.global_avg_pool2d_backward, ())):
        rf, rb = getattr(R, fwd.__name__), getattr(R, bwd.__name__)
        y, ctx = fwd(x, *args)
        yr, ctxr = rf(np.ascontiguousarray(xc), *args)
        assert_close(y, yr, dtype)
        dy = make(rng, y.shape, dtype, layout)
        dyc = dy.copy()
        assert_close(bwd(dy, ctx), rb(dyc, ctxr), dtype)
        np.testing.assert_array_equal(dy, dyc)
    np.testing.assert_array_equal(x, xc)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_max_pool_ties_nan_and_inf(impl):
    x = np.zeros((1, 1, 4, 4), np.float32)               # all ties: the first of each window
    _, ctx = impl.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(ctx.indices[0, 0], [[0, 2], [8, 10]])
    x[0, 0, 1, 1] = np.nan                               # a NaN wins
    x[0, 0, 0, 3] = x[0, 0, 1, 2] = np.nan               # several NaN: the last one
    y, ctx = impl.max_pool2d_forward(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and np.isnan(y[0, 0, 0, 1])
    np.testing.assert_array_equal(ctx.indices[0, 0, 0], [5, 6])
    x = np.full((1, 1, 3, 3), -np.inf)                   # all -inf with padding: first real pixel
    y, ctx = impl.max_pool2d_forward(x, 3, 2, 1)
    np.testing.assert_array_equal(ctx.indices[0, 0], [[0, 1], [3, 4]])
    assert np.all(y == -np.inf)


# --- ceil_mode ---------------------------------------------------------------------------------

# (N, C, H, W, kernel, stride, padding): ceil_mode adds a partial last window, or does not
# (when it would start in the bottom/right padding: PyTorch's rule), or changes nothing
CEIL_CONFIGS = [
    (2, 3, 7, 9, 2, 2, 0),                   # odd sizes: a 1-pixel last window (no fast path)
    (2, 3, 8, 8, 2, 2, 0),                   # even: same as floor, the fast path stays
    (1, 2, 7, 8, 3, 2, 1),                   # padding: the extra window is dropped on H
    (2, 2, 6, 7, (3, 2), (2, 3), (1, 1)),    # non-square
    (1, 1, 5, 5, 4, 3, 2),                   # padding half the kernel, window past the padding
    (2, 4, 5, 5, 3, 3, 0),                   # stride == kernel (tiled backward) not dividing H
]
CEIL_IDS = [f"N{c[0]}C{c[1]}x{c[2]}x{c[3]}-k{c[4]}s{c[5]}p{c[6]}" for c in CEIL_CONFIGS]


@pytest.mark.parametrize("cfg", CEIL_CONFIGS, ids=CEIL_IDS)
def test_ceil_mode_parity(rng, dtype, cfg):
    n, c, h, w, k, s, p = cfg
    x = make(rng, (n, c, h, w), dtype)
    y, ctx = F.max_pool2d_forward(x, k, s, p, ceil_mode=True)
    yr, ctxr = R.max_pool2d_forward(x, k, s, p, ceil_mode=True)
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(ctx.indices, ctxr.indices)
    dy = make(rng, y.shape, dtype)
    assert_close(F.max_pool2d_backward(dy, ctx), R.max_pool2d_backward(dy, ctxr), dtype)
    for cip in (True, False):
        y, ctx = F.avg_pool2d_forward(x, k, s, p, cip, ceil_mode=True)
        yr, ctxr = R.avg_pool2d_forward(x, k, s, p, cip, ceil_mode=True)
        assert ctx.output_size == ctxr.output_size and y.shape == yr.shape == (n, c) + ctx.output_size
        assert_close(y, yr, dtype, "y")
        assert_close(F.avg_pool2d_backward(dy, ctx), R.avg_pool2d_backward(dy, ctxr), dtype, "dx")


def test_ceil_mode_output_sizes():
    """ceil((H + 2p - k) / s) + 1, less one when the last window would start at or past H + p."""
    def size(h, k, s, p, impl):
        return impl.max_pool2d_forward(np.zeros((1, 1, h, h)), k, s, p, ceil_mode=True)[0].shape[2]
    for impl in (F, R):
        assert size(7, 2, 2, 0, impl) == 4          # floor gives 3: a 1-pixel last window
        assert size(8, 2, 2, 0, impl) == 4          # divides: as floor
        assert size(7, 3, 2, 1, impl) == 4          # ceil(6 / 2) + 1 = 4, starts at 5 < 8: kept
        assert size(5, 2, 4, 1, impl) == 2          # ceil(5 / 4) + 1 = 3, starts at 7 >= 6: dropped
        assert size(4, 2, 2, 1, impl) == 3          # ceil(4 / 2) + 1 = 3, starts at 3 < 5: kept


@needs_torch
@pytest.mark.parametrize("cfg", CEIL_CONFIGS + [(1, 1, 5, 5, 2, 4, 1), (1, 2, 4, 4, 2, 2, 1)])
def test_ceil_mode_matches_torch(rng, cfg):
    import torch
    n, c, h, w, k, s, p = cfg
    x = rng.standard_normal((n, c, h, w))
    tx = torch.tensor(x, requires_grad=True)
    dy = None
    for impl in (F, R):
        y, ctx = impl.max_pool2d_forward(x, k, s, p, ceil_mode=True)
        ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, ceil_mode=True, return_indices=True)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(ctx.indices, ti.numpy())
        dy = rng.standard_normal(y.shape)
        (g,) = torch.autograd.grad(ty, tx, torch.tensor(dy))
        assert_close(impl.max_pool2d_backward(dy, ctx), g.numpy(), np.float64)
        for cip in (True, False):
            y, ctx = impl.avg_pool2d_forward(x, k, s, p, cip, ceil_mode=True)
            ty = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil_mode=True, count_include_pad=cip)
            assert_close(y, ty.detach().numpy(), np.float64)
            (g,) = torch.autograd.grad(ty, tx, torch.tensor(dy))
            assert_close(impl.avg_pool2d_backward(dy, ctx), g.numpy(), np.float64)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_ceil_mode_gradcheck(rng, impl):
    for n, c, h, w, k, s, p in CEIL_CONFIGS[:4]:
        x = distinct(rng, (n, c, h, w), np.float64)
        gradcheck(lambda x: impl.max_pool2d_forward(x, k, s, p, True)[0], [x],
                  analytic=lambda dy, x: (impl.max_pool2d_backward(dy, impl.max_pool2d_forward(x, k, s, p, True)[1]),),
                  names=["x"], **TOL["gradcheck"])
        for cip in (True, False):
            gradcheck(lambda x: impl.avg_pool2d_forward(x, k, s, p, cip, True)[0], [x],
                      analytic=lambda dy, x: (impl.avg_pool2d_backward(dy, impl.avg_pool2d_forward(x, k, s, p, cip, True)[1]),),
                      names=["x"], **TOL["gradcheck"])


# --- gradients ---------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("cfg", [CONFIGS[1], CONFIGS[2], CONFIGS[3]], ids=[IDS[1], IDS[2], IDS[3]])
def test_pool_gradcheck(rng, impl, cfg):
    n, c, h, w, k, s, p = cfg
    x = distinct(rng, (n, c, h, w), np.float64)
    gradcheck(lambda x: impl.max_pool2d_forward(x, k, s, p)[0], [x],
              analytic=lambda dy, x: (impl.max_pool2d_backward(dy, impl.max_pool2d_forward(x, k, s, p)[1]),),
              names=["x"], **TOL["gradcheck"])
    for cip in (True, False):
        gradcheck(lambda x: impl.avg_pool2d_forward(x, k, s, p, cip)[0], [x],
                  analytic=lambda dy, x: (impl.avg_pool2d_backward(dy, impl.avg_pool2d_forward(x, k, s, p, cip)[1]),),
                  names=["x"], **TOL["gradcheck"])
    gradcheck(lambda x: impl.global_avg_pool2d_forward(x)[0], [x],
              analytic=lambda dy, x: (impl.global_avg_pool2d_backward(dy, impl.global_avg_pool2d_forward(x)[1]),),
              names=["x"], **TOL["gradcheck"])


# --- PyTorch -----------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("cfg", CONFIGS[:-1], ids=IDS[:-1])
def test_max_pool_matches_torch(rng, cfg):
    import torch
    n, c, h, w, k, s, p = cfg
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    x[..., ::2, :] = np.round(x[..., ::2, :])                  # plenty of ties
    x.reshape(-1)[rng.choice(x.size, 3, replace=False)] = np.nan
    y, ctx = F.max_pool2d_forward(x, k, s, p)
    tx = torch.tensor(x, requires_grad=True)
    ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, return_indices=True)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(ctx.indices, ti.numpy())
    dy = rng.standard_normal(y.shape).astype(np.float32)
    ty.backward(torch.tensor(dy))
    assert_close(F.max_pool2d_backward(dy, ctx), tx.grad.numpy(), np.float32)


@needs_torch
@pytest.mark.parametrize("cfg", CONFIGS[:-1], ids=IDS[:-1])
@pytest.mark.parametrize("cip", [True, False])
def test_avg_pool_matches_torch(rng, cfg, cip):
    import torch
    n, c, h, w, k, s, p = cfg
    x = rng.standard_normal((n, c, h, w))
    y, ctx = F.avg_pool2d_forward(x, k, s, p, cip)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.avg_pool2d(tx, k, s, p, count_include_pad=cip)
    assert_close(y, ty.detach().numpy(), np.float64)
    dy = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(dy))
    assert_close(F.avg_pool2d_backward(dy, ctx), tx.grad.numpy(), np.float64)


@needs_torch
def test_global_avg_pool_matches_torch(rng):
    import torch
    x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    y, ctx = F.global_avg_pool2d_forward(x)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.adaptive_avg_pool2d(tx, 1)
    assert_close(y, ty.detach().numpy(), np.float32)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    ty.backward(torch.tensor(dy))
    assert_close(F.global_avg_pool2d_backward(dy, ctx), tx.grad.numpy(), np.float32)


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("op", ["max", "avg"])
def test_pool_bad_input(impl, op):
    fwd = getattr(impl, f"{op}_pool2d_forward")
    bwd = getattr(impl, f"{op}_pool2d_backward")
    x = np.ones((2, 3, 6, 6), np.float32)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        fwd(x.tolist(), 2)
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        fwd(x.astype(np.int64), 2)
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\)"):
        fwd(x[0], 2)
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        fwd(x, 0)
    with pytest.raises(ValueError, match="stride must be positive"):
        fwd(x, 2, 0)
    with pytest.raises(ValueError, match="stride must be positive"):
        fwd(x, 2, (1, -1))
    with pytest.raises(ValueError, match="padding must be non-negative"):
        fwd(x, 2, 2, -1)
    with pytest.raises(ValueError, match="at most half the kernel size"):
        fwd(x, 3, 1, 2)
    with pytest.raises(ValueError, match="at most half the kernel size"):
        fwd(x, (3, 2), 1, (1, 2))
    with pytest.raises(ValueError, match="larger than the padded input"):
        fwd(x, 7)
    with pytest.raises(TypeError, match="must be an int or a pair"):
        fwd(x, 2.0)
    with pytest.raises(ValueError, match="must be an int or a pair"):
        fwd(x, (2, 2, 2))
    y, ctx = fwd(x, 2)
    with pytest.raises(ValueError, match="dy must have the forward output's shape"):
        bwd(np.ones((2, 3, 3, 2), np.float32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64"):
        bwd(y.astype(np.float64), ctx)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_global_pool_bad_input(impl):
    x = np.ones((2, 3, 4, 4), np.float64)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        impl.global_avg_pool2d_forward(1.0)
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        impl.global_avg_pool2d_forward(x[0])
    with pytest.raises(ValueError, match="height and width must be positive"):
        impl.global_avg_pool2d_forward(np.ones((2, 3, 0, 4)))
    y, ctx = impl.global_avg_pool2d_forward(x)
    with pytest.raises(ValueError, match="dy must have the forward output's shape"):
        impl.global_avg_pool2d_backward(np.ones((2, 3, 1, 2)), ctx)
    with pytest.raises(TypeError, match="dy has dtype float32"):
        impl.global_avg_pool2d_backward(y.astype(np.float32), ctx)


def test_pool_backward_rejects_foreign_ctx():
    x = np.ones((1, 1, 4, 4))
    _, ctx = R.max_pool2d_forward(x, 2)
    with pytest.raises(TypeError):
        F.max_pool2d_backward(np.ones((1, 1, 2, 2)), ctx)
    _, fctx = F.max_pool2d_forward(x, 2)
    with pytest.raises(TypeError):
        F.avg_pool2d_backward(np.ones((1, 1, 2, 2)), fctx)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("fwd", ["max_pool2d_forward", "avg_pool2d_forward"])
@pytest.mark.parametrize("huge", [2**62, 10**19, -10**19])
def test_huge_pool_sizes_raise_valueerror(backend, fwd, huge):
    # 10**19 raised OverflowError in the binding; 2*padding could wrap in int64
    x = np.zeros((1, 1, 2, 2))
    for kw in (dict(kernel_size=huge), dict(kernel_size=2, stride=huge), dict(kernel_size=2, padding=huge)):
        with pytest.raises(ValueError):
            getattr(backend, fwd)(x, **kw)


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d", "global_avg_pool2d"])
def test_pool_backward_rejects_a_foreign_ctx(backend, op):
    # the reference raised AttributeError
    _, ctx = backend.relu_forward(np.ones((1, 1, 2, 2)))
    for bad in (ctx, None):
        with pytest.raises(TypeError, match="ctx"):
            getattr(backend, op + "_backward")(np.ones((1, 1, 1, 1)), bad)
