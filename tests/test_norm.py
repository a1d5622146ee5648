"""norm family (batch norm, layer norm): parity compiled vs reference, running statistics,
gradients, PyTorch agreement, bad input."""
import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

# (N, C, *) shapes: 2-D (the column path, one and several 64-column chunks), 3-D, 4-D, L == 1
# in 4-D, N == 1 with spatial extent, odd sizes, empty batch
BN_SHAPES = [(2, 1), (7, 5), (33, 130), (1, 3), (5, 3, 1), (4, 3, 6), (3, 4, 5, 7), (2, 3, 1, 1),
             (1, 3, 5, 5), (2, 2, 3, 2, 3), (0, 3, 4), (0, 4)]
AFFINE = [(True, True), (True, False), (False, True), (False, False)]


def bn_inputs(rng, shape, dtype, affine=(True, True), tracked=True, layout="c"):
    c = shape[1]
    x = make(rng, shape, dtype, layout) * 2 + 0.5
    gamma = make(rng, (c,), dtype, layout) if affine[0] else None
    beta = make(rng, (c,), dtype, layout) if affine[1] else None
    rm = rng.standard_normal(c).astype(dtype) if tracked else None
    rv = (rng.random(c) + 0.5).astype(dtype) if tracked else None
    return x, gamma, beta, rm, rv


def copy_or_none(a):
    return None if a is None else a.copy()


def torch_leaves(*arrays):
    """Each array as a torch tensor that collects its gradient (None stays None)."""
    import torch
    return tuple(None if a is None else torch.tensor(a, requires_grad=True) for a in arrays)


def check_matches_torch(y, grads, ty, dy, tx, tg, tb):
    """A float64 norm's y and backward (dx, dgamma, dbeta) against torch's output ty and the
    gradients ty.backward(dy) leaves on tx, tg, tb (tg None: no affine, dgamma / dbeta None)."""
    import torch
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), np.float64, "y")
    dx, dg, db = grads
    assert_close(dx, tx.grad.numpy(), np.float64, "dx")
    if tg is not None:
        assert_close(dg, tg.grad.numpy(), np.float64, "dgamma")
        assert_close(db, tb.grad.numpy(), np.float64, "dbeta")
    else:
        assert dg is None and db is None


@pytest.mark.parametrize("shape", BN_SHAPES, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", AFFINE, ids=["affine", "gamma", "beta", "plain"])
@pytest.mark.parametrize("tracked", [True, False], ids=["tracked", "untracked"])
def test_batch_norm_parity(rng, dtype, shape, training, affine, tracked):
    x, g, b, rm, rv = bn_inputs(rng, shape, dtype, affine, tracked)
    rm2, rv2 = copy_or_none(rm), copy_or_none(rv)
    m = shape[0] * int(np.prod(shape[2:]))
    if (training or not tracked) and m == 1:
        for impl, a, v in ((F, rm, rv), (R, rm2, rv2)):
            with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
                impl.batch_norm_forward(x, g, b, a, v, training)
        return
    y, ctx = F.batch_norm_forward(x, g, b, rm, rv, training, 0.1, 1e-5)
    yr, ctxr = R.batch_norm_forward(x, g, b, rm2, rv2, training, 0.1, 1e-5)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert_close(y, yr, dtype, "y")
    assert_close(rm, rm2, dtype, "running_mean")
    assert_close(rv, rv2, dtype, "running_var")
    assert ctx.batch_stats == ctxr.batch_stats == (training or not tracked)
    dy = make(rng, shape, dtype)
    got, want = F.batch_norm_backward(dy, ctx), R.batch_norm_backward(dy, ctxr)
    for a, e, name in zip(got, want, ("dx", "dgamma", "dbeta")):
        assert_close(a, e, dtype, name)


def test_batch_norm_empty_batch_keeps_running_stats(dtype):
    x = np.zeros((0, 3, 4), dtype)
    rm, rv = np.ones(3, dtype), np.full(3, 2.0, dtype)
    for impl in (F, R):
        y, ctx = impl.batch_norm_forward(x, np.ones(3, dtype), np.ones(3, dtype), rm, rv, True)
        assert y.shape == (0, 3, 4)
        np.testing.assert_array_equal(rm, 1)
        np.testing.assert_array_equal(rv, 2)
        dx, dg, db = impl.batch_norm_backward(np.zeros_like(x), ctx)
        assert dx.shape == x.shape
        np.testing.assert_array_equal(dg, 0)
        np.testing.assert_array_equal(db, 0)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 5, 6)], ids=str)
def test_batch_norm_layouts_and_inputs_untouched(rng, dtype, layout, shape):
    x, g, b, rm, rv = bn_inputs(rng, shape, dtype, layout=layout)
    keep = [a.copy() for a in (x, g, b)]
    rm2, rv2 = rm.copy(), rv.copy()
    y, ctx = F.batch_norm_forward(x, g, b, rm, rv, True)
    dy = make(rng, shape, dtype, layout)
    dyc = dy.copy()
    grads = F.batch_norm_backward(dy, ctx)
    yr, ctxr = R.batch_norm_forward(*(np.ascontiguousarray(a) for a in (x, g, b)), rm2, rv2, True)
    assert_close(y, yr, dtype)
    assert_close(rm, rm2, dtype)
    assert_close(rv, rv2, dtype)
    for a, e in zip(grads, R.batch_norm_backward(dyc, ctxr)):
        assert_close(a, e, dtype)
    for a, c in zip((x, g, b, dy), keep + [dyc]):
        np.testing.assert_array_equal(a, c)
    # eval mode reads the running buffers and writes nothing
    rm3, rv3 = rm.copy(), rv.copy()
    F.batch_norm_forward(x, g, b, rm, rv, False)
    np.testing.assert_array_equal(rm, rm3)
    np.testing.assert_array_equal(rv, rv3)


def test_batch_norm_momentum_none_is_cumulative_average(rng, dtype):
    xs = [make(rng, (8, 3, 2), dtype) * (k + 1) + k for k in range(4)]
    for impl in (F, R):
        rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
        for k, x in enumerate(xs, 1):
            impl.batch_norm_forward(x, None, None, rm, rv, True, None, num_batches_tracked=k)
        means = [x.astype(np.float64).mean(axis=(0, 2)) for x in xs]
        vars_ = [x.astype(np.float64).var(axis=(0, 2), ddof=1) for x in xs]
        assert_close(rm, np.mean(means, axis=0).astype(dtype), dtype)
        assert_close(rv, np.mean(vars_, axis=0).astype(dtype), dtype)


def test_batch_norm_same_result_any_thread_count(rng):
    old = fastnn.get_num_threads()
    shapes = [(257, 131), (9, 7, 40, 41)]
    try:
        results = []
        for nt in (1, 2, 3):
            fastnn.set_num_threads(nt)
            out = []
            for shape in shapes:
                r = np.random.default_rng(7)
                x, g, b, rm, rv = bn_inputs(r, shape, np.float32)
                y, ctx = F.batch_norm_forward(x, g, b, rm, rv, True)
                out += [y, rm, rv, *F.batch_norm_backward(make(r, shape, np.float32), ctx)]
            results.append(out)
        for other in results[1:]:
            for a, e in zip(other, results[0]):
                np.testing.assert_array_equal(a, e)
    finally:
        fastnn.set_num_threads(old)


@pytest.mark.parametrize("shape", [(300, 70), (6, 3, 20, 20)], ids=str)
def test_batch_norm_large_offset_is_accurate(shape):
    # channels with |mean| >> std in float32: the mean is kept in double and subtracted as a
    # float head + tail, so the output matches the float64 computation
    rng = np.random.default_rng(5)
    x = (3e3 + rng.standard_normal(shape)).astype(np.float32)
    y, ctx = F.batch_norm_forward(x)
    yr, ctxr = R.batch_norm_forward(x)
    assert_close(y, yr, np.float32)
    dy = make(rng, shape, np.float32)
    for a, e in zip(F.batch_norm_backward(dy, ctx), R.batch_norm_backward(dy, ctxr)):
        assert_close(a, e, np.float32)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 2, 3)], ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_gradcheck(rng, impl, shape, training):
    c = shape[1]
    x, g, b = rng.standard_normal(shape), rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5

    def fwd(x, g, b):
        # fresh copies: training updates the running buffers, which must not leak between calls
        return impl.batch_norm_forward(x, g, b, rm.copy(), rv.copy(), training)

    gradcheck(lambda x, g, b: fwd(x, g, b)[0], [x, g, b],
              analytic=lambda dy, x, g, b: impl.batch_norm_backward(dy, fwd(x, g, b)[1]),
              names=["x", "gamma", "beta"], **TOL["gradcheck"])


@needs_torch
@pytest.mark.parametrize("shape", [(6, 4), (4, 3, 7), (3, 4, 5, 6)], ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch(rng, shape, training, affine):
    import torch
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    g, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    y, ctx = F.batch_norm_forward(x, g, b, rm, rv, training, 0.1, 1e-5)
    tx, tg, tb = torch_leaves(x, g, b)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, training, 0.1, 1e-5)
    dy = rng.standard_normal(shape)
    check_matches_torch(y, F.batch_norm_backward(dy, ctx), ty, dy, tx, tg, tb)
    assert_close(rm, trm.numpy(), np.float64, "running_mean")
    assert_close(rv, trv.numpy(), np.float64, "running_var")


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("tracked", [True, False])
def test_batch_norm_steps_match_torch_module(rng, dtype, momentum, tracked):
    """Several training steps then eval, against torch.nn.BatchNorm2d's buffers and outputs."""
    import torch
    c = 4
    bn = torch.nn.BatchNorm2d(c, momentum=momentum, track_running_stats=tracked)
    bn = bn.to(torch.float32 if dtype == np.float32 else torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(rng.standard_normal(c)))
        bn.bias.copy_(torch.tensor(rng.standard_normal(c)))
    g, b = bn.weight.detach().numpy().copy(), bn.bias.detach().numpy().copy()
    rm = np.zeros(c, dtype) if tracked else None
    rv = np.ones(c, dtype) if tracked else None
    for step in range(1, 5):
        x = make(rng, (5, c, 3, 4), dtype) * step + step
        y, _ = F.batch_norm_forward(x, g, b, rm, rv, True, momentum, num_batches_tracked=step)
        ty = bn.train()(torch.from_numpy(x))
        assert_close(y, ty.detach().numpy(), dtype, f"y step {step}")
        if tracked:
            assert_close(rm, bn.running_mean.numpy(), dtype, f"running_mean step {step}")
            assert_close(rv, bn.running_var.numpy(), dtype, f"running_var step {step}")
    x = make(rng, (1, c, 3, 4), dtype)    # N == 1 is fine in eval when statistics are tracked
    y, _ = F.batch_norm_forward(x, g, b, rm, rv, False, momentum)
    assert_close(y, bn.eval()(torch.from_numpy(x)).detach().numpy(), dtype, "eval y")


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_batch_norm_bad_input(impl):
    f32 = np.float32
    x, g = np.ones((4, 3, 2), f32), np.ones(3, f32)
    rm, rv = np.zeros(3, f32), np.ones(3, f32)
    bn = impl.batch_norm_forward
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        bn([[1.0, 2.0]])
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int64"):
        bn(np.ones((4, 3), np.int64))
    with pytest.raises(ValueError, match=r"x must be at least 2-D \(N, C, \*\), got shape \(3,\)"):
        bn(np.ones(3, f32))
    with pytest.raises(ValueError, match=r"x must be at least 2-D"):
        bn(np.ones((), f32))
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) to match the channels of x \(4, 3, 2\), got \(4,\)"):
        bn(x, np.ones(4, f32))
    with pytest.raises(ValueError, match=r"beta must have shape \(3,\)"):
        bn(x, g, np.ones((3, 1), f32))
    with pytest.raises(TypeError, match="gamma has dtype float64 but x has dtype float32"):
        bn(x, g.astype(np.float64))
    with pytest.raises(TypeError, match="running_var has dtype float64 but x has dtype float32"):
        bn(x, g, g, rm, rv.astype(np.float64))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        bn(x, g, g, np.zeros(2, f32), rv)
    with pytest.raises(ValueError, match="running_mean and running_var must both be arrays or both be None"):
        bn(x, g, g, rm, None)
    with pytest.raises(ValueError, match="running_mean and running_var must be different arrays"):
        bn(x, g, g, rm, rm)
    ro = rv.copy()
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="running_var must be a C-contiguous, writable"):
        bn(x, g, g, rm, ro)
    with pytest.raises(ValueError, match="running_mean must be a C-contiguous, writable"):
        bn(x, g, g, np.zeros(6, f32)[::2], rv)
    with pytest.raises(ValueError, match="running_mean must be a C-contiguous, writable"):
        bn(x, g, g, np.zeros(3, ">f4"), rv)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0, got -1e-05"):
        bn(x, eps=-1e-5)
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        bn(x, eps=float("nan"))
    with pytest.raises(TypeError, match="eps must be a float"):
        bn(x, eps="small")
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        bn(x, None, None, rm, rv, True, 1.5)
    with pytest.raises(TypeError, match="momentum must be a float or None"):
        bn(x, None, None, rm, rv, True, "fast")
    with pytest.raises(ValueError, match="momentum=None .* needs num_batches_tracked"):
        bn(x, None, None, rm, rv, True, None)
    with pytest.raises(ValueError, match="num_batches_tracked must be >= 1"):
        bn(x, None, None, rm, rv, True, None, num_batches_tracked=0)
    with pytest.raises(TypeError, match="num_batches_tracked must be an int"):
        bn(x, None, None, rm, rv, True, None, num_batches_tracked=1.0)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input of shape \(1, 3\)"):
        bn(np.ones((1, 3), f32), g, g, rm, rv, True)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        bn(np.ones((1, 3, 1, 1), f32))                    # batch statistics in eval too
    np.testing.assert_array_equal(rm, 0)                  # nothing was written on the way
    np.testing.assert_array_equal(rv, 1)
    y, ctx = bn(x, g, g, rm, rv, True)
    with pytest.raises(ValueError, match=r"dy must have the forward input's shape \(4, 3, 2\), got \(4, 3\)"):
        impl.batch_norm_backward(np.ones((4, 3), f32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64 but x has dtype float32"):
        impl.batch_norm_backward(np.ones((4, 3, 2)), ctx)


def test_backward_rejects_foreign_ctx():
    _, ctx = R.batch_norm_forward(np.ones((2, 1)))
    with pytest.raises(TypeError):
        F.batch_norm_backward(np.ones((2, 1)), ctx)
    _, ctx = R.layer_norm_forward(np.ones((2, 1)))
    with pytest.raises(TypeError):
        F.layer_norm_backward(np.ones((2, 1)), ctx)
    with pytest.raises(TypeError):
        F.layer_norm_backward(np.ones((2, 1)), None)


# ---------------------------------------------------------------------------------------------
# layer norm
# ---------------------------------------------------------------------------------------------

# (shape, normalized_shape)
LN_CASES = [((1, 1), None), ((3, 1), None), ((7, 5), None), ((4, 3, 33), None), ((9,), None),
            ((2, 3, 4, 5), (4, 5)), ((2, 3, 4, 5), 5), ((2, 3, 4), (2, 3, 4)), ((0, 8), None),
            ((5, 300), [300]), ((3, 0), None)]


@pytest.mark.parametrize("shape,nshape", LN_CASES, ids=str)
@pytest.mark.parametrize("affine", AFFINE, ids=["affine", "gamma", "beta", "plain"])
def test_layer_norm_parity(rng, dtype, shape, nshape, affine):
    x = make(rng, shape, dtype) * 3 - 1
    ps = shape[-1:] if nshape is None else ((nshape,) if isinstance(nshape, int) else tuple(nshape))
    g = make(rng, ps, dtype) if affine[0] else None
    b = make(rng, ps, dtype) if affine[1] else None
    y, ctx = F.layer_norm_forward(x, g, b, 1e-5, nshape)
    yr, ctxr = R.layer_norm_forward(x, g, b, 1e-5, nshape)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert_close(y, yr, dtype, "y")
    dy = make(rng, shape, dtype)
    got, want = F.layer_norm_backward(dy, ctx), R.layer_norm_backward(dy, ctxr)
    for a, e, name in zip(got, want, ("dx", "dgamma", "dbeta")):
        assert_close(a, e, dtype, name)
    if g is not None:
        assert got[1].shape == g.shape


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layer_norm_layouts_and_inputs_untouched(rng, dtype, layout):
    x, g, b = make(rng, (6, 7), dtype, layout), make(rng, (7,), dtype, layout), make(rng, (7,), dtype, layout)
    keep = [a.copy() for a in (x, g, b)]
    y, ctx = F.layer_norm_forward(x, g, b)
    dy = make(rng, (6, 7), dtype, layout)
    dyc = dy.copy()
    grads = F.layer_norm_backward(dy, ctx)
    yr, ctxr = R.layer_norm_forward(*(np.ascontiguousarray(a) for a in (x, g, b)))
    assert_close(y, yr, dtype)
    for a, e in zip(grads, R.layer_norm_backward(dyc, ctxr)):
        assert_close(a, e, dtype)
    for a, c in zip((x, g, b, dy), keep + [dyc]):
        np.testing.assert_array_equal(a, c)


def test_layer_norm_large_offset_is_accurate():
    # rows with |mean| >> std: two-pass statistics in double keep the output exact-ish
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((4, 256))).astype(np.float32)
    y, _ = F.layer_norm_forward(x)
    yr, _ = R.layer_norm_forward(x)
    assert_close(y, yr, np.float32)
    assert np.abs(y.astype(np.float64).std(axis=1) - 1).max() < 1e-3


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
@pytest.mark.parametrize("nshape", [None, (3, 4)], ids=["last", "two"])
def test_layer_norm_gradcheck(rng, impl, nshape):
    shape = (2, 3, 4)
    ps = shape[-1:] if nshape is None else nshape
    x, g, b = rng.standard_normal(shape), rng.standard_normal(ps), rng.standard_normal(ps)
    fwd = lambda x, g, b: impl.layer_norm_forward(x, g, b, 1e-5, nshape)  # noqa: E731
    gradcheck(lambda x, g, b: fwd(x, g, b)[0], [x, g, b],
              analytic=lambda dy, x, g, b: impl.layer_norm_backward(dy, fwd(x, g, b)[1]),
              names=["x", "gamma", "beta"], **TOL["gradcheck"])


@needs_torch
@pytest.mark.parametrize("shape,nshape", [((6, 8), None), ((3, 4, 9), None), ((2, 3, 4, 5), (4, 5))], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(rng, shape, nshape, affine):
    import torch
    ps = shape[-1:] if nshape is None else nshape
    x = rng.standard_normal(shape) * 2 + 3
    g, b = (rng.standard_normal(ps), rng.standard_normal(ps)) if affine else (None, None)
    y, ctx = F.layer_norm_forward(x, g, b, 1e-5, nshape)
    tx, tg, tb = torch_leaves(x, g, b)
    ty = torch.nn.functional.layer_norm(tx, ps, tg, tb, 1e-5)
    dy = rng.standard_normal(shape)
    check_matches_torch(y, F.layer_norm_backward(dy, ctx), ty, dy, tx, tg, tb)


@needs_torch
def test_layer_norm_float32_matches_torch(rng):
    import torch
    x = make(rng, (64, 1024), np.float32)
    g, b = make(rng, (1024,), np.float32), make(rng, (1024,), np.float32)
    y, ctx = F.layer_norm_forward(x, g, b)
    tx, tg, tb = torch_leaves(x, g, b)
    ty = torch.nn.functional.layer_norm(tx, (1024,), tg, tb)
    dy = make(rng, (64, 1024), np.float32)
    ty.backward(torch.tensor(dy))
    assert_close(y, ty.detach().numpy(), np.float32)
    for a, t in zip(F.layer_norm_backward(dy, ctx), (tx, tg, tb)):
        assert_close(a, t.grad.numpy(), np.float32)


@pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])
def test_layer_norm_bad_input(impl):
    f32 = np.float32
    x, g = np.ones((4, 3), f32), np.ones(3, f32)
    ln = impl.layer_norm_forward
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        ln([1.0, 2.0])
    with pytest.raises(TypeError, match="x must have dtype float32 or float64, got int32"):
        ln(np.ones((4, 3), np.int32))
    with pytest.raises(ValueError, match=r"x must be at least 1-D \(\*, D\)"):
        ln(np.ones((), f32))
    with pytest.raises(ValueError, match=r"gamma must have shape normalized_shape = \(3,\) \(x \(4, 3\)\), got \(4,\)"):
        ln(x, np.ones(4, f32))
    with pytest.raises(ValueError, match=r"beta must have shape normalized_shape"):
        ln(x, g, np.ones((1, 3), f32))
    with pytest.raises(TypeError, match="gamma has dtype float64 but x has dtype float32"):
        ln(x, g.astype(np.float64))
    with pytest.raises(TypeError, match="beta has dtype float64"):
        ln(x, g, g.astype(np.float64))
    with pytest.raises(ValueError, match="eps must be a finite number >= 0"):
        ln(x, eps=-1.0)
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) must be non-empty and equal the trailing dimensions of x \(4, 3\)"):
        ln(x, normalized_shape=4)
    with pytest.raises(ValueError, match=r"normalized_shape \(2, 4, 3\) must be non-empty"):
        ln(x, normalized_shape=(2, 4, 3))
    with pytest.raises(ValueError, match=r"normalized_shape \(\) must be non-empty"):
        ln(x, normalized_shape=())
    with pytest.raises(TypeError, match="normalized_shape must be an int or a tuple of ints"):
        ln(x, normalized_shape=3.0)
    with pytest.raises(TypeError, match="normalized_shape must be an int or a tuple of ints"):
        ln(x, normalized_shape=(3.0,))
    y, ctx = ln(x, g, g)
    with pytest.raises(ValueError, match=r"dy must have the forward input's shape \(4, 3\), got \(3, 4\)"):
        impl.layer_norm_backward(np.ones((3, 4), f32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64 but x has dtype float32"):
        impl.layer_norm_backward(np.ones((4, 3)), ctx)


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("op", ["batch_norm", "layer_norm"])
def test_backward_rejects_a_foreign_ctx(backend, op):
    # the reference raised AttributeError
    _, ctx = backend.relu_forward(np.ones((2, 3)))
    for bad in (ctx, None):
        with pytest.raises(TypeError, match="ctx"):
            getattr(backend, op + "_backward")(np.ones((2, 3)), bad)


def test_string_eps_and_momentum_are_typeerror(backend):
    # the reference accepted them through float("1e-5")
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="eps"):
        backend.layer_norm_forward(x, eps="1e-5")
    with pytest.raises(TypeError, match="momentum"):
        backend.batch_norm_forward(x, running_mean=np.zeros(3), running_var=np.ones(3), momentum="0.1")
