"""loss family: cross-entropy (class indices / probabilities), NLL, MSE, L1.
Parity compiled vs reference, gradients, reductions, ignore_index, bad input, torch."""
import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

REDUCTIONS = ["mean", "sum", "none"]
CE_SHAPES = [(1, 1), (1, 7), (5, 3), (17, 33), (64, 1000), (0, 5)]
POINT_SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (0,), (4, 0), (33, 65)]
IMPLS = pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])


def upstream(rng, loss, dtype):
    """A non-uniform upstream gradient of the loss's shape."""
    return make(rng, loss.shape, dtype) + np.asarray(1.5, dtype)


def class_targets(rng, n, c, ignore=None):
    t = rng.integers(0, c, n)
    if ignore is not None and n > 2:
        t[::3] = ignore
    return t


def soft_targets(rng, n, c, dtype):
    t = rng.random((n, c)) + 0.01
    return (t / t.sum(axis=1, keepdims=True)).astype(dtype)


# ------------------------------------------------------------------------------------------------
# the private float32 exp (csrc/loss.c) against correctly rounded exp
# ------------------------------------------------------------------------------------------------

def _ulps(a, b):
    ai, bi = a.view(np.int32).astype(np.int64), b.view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    return np.abs(ai - bi)


@pytest.mark.parametrize("nonpositive", [False, True])
def test_private_expf_ulp(nonpositive):
    from fastnn._loss import _expf
    x = np.linspace(-110, 0 if nonpositive else 95, 1_000_001, dtype=np.float32)
    x = np.concatenate([x, np.random.default_rng(0).uniform(-1, 0 if nonpositive else 1, 100_000).astype(np.float32)])
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)   # correctly rounded
    assert _ulps(_expf(x, nonpositive), want).max() <= 1
    special = np.array([-np.inf, np.nan, 0.0, -0.0, -1e30, -104.0, -103.98, -87.4, -150.0], np.float32)
    got = _expf(special, nonpositive)
    np.testing.assert_array_equal(got, np.exp(special.astype(np.float64)).astype(np.float32))
    assert got[0] == 0 and np.isnan(got[1]) and got[4] == 0 and got[8] == 0
    if not nonpositive:
        big = _expf(np.array([np.inf, 89.0, 88.73, 1e30, 88.72], np.float32))
        assert np.all(np.isinf(big[:4])) and np.isfinite(big[4])


# ------------------------------------------------------------------------------------------------
# parity compiled vs reference
# ------------------------------------------------------------------------------------------------

def check_cross_entropy_parity(rng, dtype, x, t, reduction, **kw):
    """Compiled and reference cross-entropy agree, forward and backward (with a non-uniform
    upstream gradient); returns the compiled loss and both ctx."""
    loss, ctx = F.cross_entropy_forward(x, t, reduction, **kw)
    lr, ctxr = R.cross_entropy_forward(x, t, reduction, **kw)
    assert_close(loss, lr, dtype, "loss", approx=True)
    dl = upstream(rng, loss, dtype)
    assert_close(F.cross_entropy_backward(dl, ctx), R.cross_entropy_backward(dl, ctxr), dtype,
                 "dlogits", approx=True)
    return loss, ctx, ctxr


@pytest.mark.parametrize("n,c", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [None, -100, 2])
def test_cross_entropy_parity(rng, dtype, n, c, reduction, ignore):
    x = make(rng, (n, c), dtype) * np.asarray(3, dtype)
    t = class_targets(rng, n, c, ignore)
    kw = {} if ignore is None else {"ignore_index": ignore}
    loss, ctx, ctxr = check_cross_entropy_parity(rng, dtype, x, t, reduction, **kw)
    assert loss.shape == ((n,) if reduction == "none" else ())
    assert ctx.count == ctxr.count


@pytest.mark.parametrize("n,c", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_soft_parity(rng, dtype, n, c, reduction):
    x = make(rng, (n, c), dtype) * np.asarray(3, dtype)
    t = soft_targets(rng, n, c, dtype)
    loss, ctx, ctxr = check_cross_entropy_parity(rng, dtype, x, t, reduction)
    assert ctx.soft and ctxr.soft


@pytest.mark.parametrize("n,c", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_parity(rng, dtype, n, c, reduction):
    x = make(rng, (n, c), dtype)
    t = class_targets(rng, n, c, ignore=-100)
    loss, ctx = F.nll_loss_forward(x, t, reduction)
    lr, ctxr = R.nll_loss_forward(x, t, reduction)
    assert_close(loss, lr, dtype, "loss")
    dl = upstream(rng, loss, dtype)
    assert_close(F.nll_loss_backward(dl, ctx), R.nll_loss_backward(dl, ctxr), dtype, "dlogp")


@pytest.mark.parametrize("shape", POINT_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_pointwise_parity(rng, dtype, shape, reduction, name):
    p, t = make(rng, shape, dtype), make(rng, shape, dtype)
    if p.size > 1:
        t.reshape(-1)[:1] = p.reshape(-1)[:1]          # a zero difference: L1's subgradient 0
    fwd, bwd = name + "_forward", name + "_backward"
    loss, ctx = getattr(F, fwd)(p, t, reduction)
    lr, ctxr = getattr(R, fwd)(p, t, reduction)
    assert loss.shape == (shape if reduction == "none" else ())
    assert_close(loss, lr, dtype, "loss")
    dl = upstream(rng, loss, dtype)
    assert_close(getattr(F, bwd)(dl, ctx), getattr(R, bwd)(dl, ctxr), dtype, "dpred")


def test_large_sum_accumulates_in_double(rng):
    # 2^24 + many small terms: a float accumulator would lose them
    p = np.full(1 << 20, 1.0, np.float32)
    t = np.zeros_like(p)
    p[0] = 4096.0                               # square 2^24
    loss, _ = F.mse_loss_forward(p, t, "sum")
    assert float(loss) == float(np.float32(2.0 ** 24 + (1 << 20) - 1))


# ------------------------------------------------------------------------------------------------
# semantics: ignore_index, empty batches, NaN, stability, thread count
# ------------------------------------------------------------------------------------------------

@IMPLS
def test_ignore_index_semantics(impl, dtype):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [3.0, 0.0, 0.0]], dtype)
    t = np.array([2, -100, 0])
    loss_none, _ = impl.cross_entropy_forward(x, t, "none")
    assert loss_none[1] == 0
    mean, ctx = impl.cross_entropy_forward(x, t, "mean")
    assert ctx.count == 2
    assert_close(mean, np.asarray((loss_none[0] + loss_none[2]) / 2, dtype), dtype, approx=True)
    d = impl.cross_entropy_backward(1.0, ctx)
    assert np.all(d[1] == 0)
    x[1, 0] = np.nan                                  # an ignored row's gradient stays exactly 0
    assert np.all(impl.cross_entropy_backward(1.0, impl.cross_entropy_forward(x, t, "mean")[1])[1] == 0)
    # an ignore_index inside [0, C) ignores that class's rows
    _, ctx = impl.cross_entropy_forward(x, t.clip(0), "mean", ignore_index=0)
    assert ctx.count == 1


@IMPLS
def test_all_ignored_and_empty_mean_is_nan(impl, dtype):
    x = np.ones((3, 4), dtype)
    loss, ctx = impl.cross_entropy_forward(x, np.full(3, -100), "mean")
    assert np.isnan(loss) and loss.dtype == dtype
    np.testing.assert_array_equal(impl.cross_entropy_backward(1.0, ctx), np.zeros((3, 4), dtype))
    loss, ctx = impl.nll_loss_forward(x, np.full(3, -100), "mean")
    assert np.isnan(loss)
    assert impl.cross_entropy_forward(np.ones((0, 4), dtype), np.zeros(0, np.int64), "sum")[0] == 0
    assert np.isnan(impl.mse_loss_forward(np.ones(0, dtype), np.ones(0, dtype))[0])
    assert impl.cross_entropy_backward(1.0, impl.cross_entropy_forward(
        np.ones((0, 4), dtype), np.zeros(0, np.int64))[1]).shape == (0, 4)


@IMPLS
def test_cross_entropy_nan_and_large_logits(impl, dtype):
    x = np.array([[1.0, np.nan, 0.0], [1e4, -1e4, 0.0], [-1e30, 0.0, -np.inf]], dtype)
    loss, ctx = impl.cross_entropy_forward(x, np.array([0, 0, 1]), "none")
    assert np.isnan(loss[0])
    assert loss[1] == 0 and loss[2] == 0
    d = impl.cross_entropy_backward(np.ones(3, dtype), ctx)
    assert np.all(np.isnan(d[0]))
    assert np.all(np.isfinite(d[1:])) and np.all(d[1:] == 0)


def test_results_independent_of_thread_count(rng):
    x = make(rng, (4096, 100), np.float32)
    t = rng.integers(0, 100, 4096)
    p, q = make(rng, (300_000,), np.float32), make(rng, (300_000,), np.float32)
    before = fastnn.get_num_threads()
    try:
        out = []
        for nt in (1, 2, 3):
            fastnn.set_num_threads(nt)
            loss, ctx = F.cross_entropy_forward(x, t)
            out.append((loss, F.cross_entropy_backward(1.0, ctx), F.mse_loss_forward(p, q, "sum")[0]))
    finally:
        fastnn.set_num_threads(before)
    for o in out[1:]:
        for a, b in zip(o, out[0]):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------
# layouts, inputs untouched, dloss forms
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, layout):
    x, soft = make(rng, (6, 5), dtype, layout), make(rng, (6, 5), dtype, layout)
    t = rng.integers(0, 5, 12)[::2]                       # strided int64 target
    p, q = make(rng, (4, 3), dtype, layout), make(rng, (4, 3), dtype, layout)
    inputs = (x, soft, t, p, q)
    copies = [a.copy() for a in inputs]
    cases = [("cross_entropy", (x, t)), ("cross_entropy", (x, soft)), ("nll_loss", (x, t)),
             ("mse_loss", (p, q)), ("l1_loss", (p, q))]
    for name, args in cases:
        for red in REDUCTIONS:
            loss, ctx = getattr(F, name + "_forward")(*args, red)
            lr, ctxr = getattr(R, name + "_forward")(*(np.ascontiguousarray(a) for a in args), red)
            assert_close(loss, lr, dtype, name, approx=True)
            dl = make(rng, loss.shape, dtype, layout if loss.ndim else "c")
            dlc = dl.copy()
            g = getattr(F, name + "_backward")(dl, ctx)
            assert_close(g, getattr(R, name + "_backward")(dlc, ctxr), dtype, name, approx=True)
            np.testing.assert_array_equal(dl, dlc)
    for a, c in zip(inputs, copies):
        np.testing.assert_array_equal(a, c)


def test_byteswapped_input(rng):
    x = make(rng, (3, 4), np.float64)
    t = np.array([0, 3, 1], dtype=">i8")
    loss, _ = F.cross_entropy_forward(x.astype(">f8"), t)
    assert_close(loss, R.cross_entropy_forward(x, t.astype(np.int64))[0], np.float64)


@IMPLS
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_dloss_number_or_0d(impl, reduction):
    x = np.array([[1.0, 2.0], [0.0, -1.0]], np.float32)
    t = np.array([1, 0])
    _, ctx = impl.cross_entropy_forward(x, t, reduction)
    want = impl.cross_entropy_backward(np.asarray(2.0, np.float32), ctx)
    for d in (2.0, 2, np.float32(2), np.float64(2), np.int64(2)):
        np.testing.assert_array_equal(impl.cross_entropy_backward(d, ctx), want)
    with pytest.raises(TypeError, match="dloss must be a number or a 0-d"):
        impl.cross_entropy_backward(True, ctx)
    with pytest.raises(TypeError, match="dloss must be a number or a 0-d"):
        impl.cross_entropy_backward([2.0], ctx)
    with pytest.raises(TypeError, match="dloss has dtype float64 but the loss has dtype float32"):
        impl.cross_entropy_backward(np.asarray(2.0), ctx)
    with pytest.raises(ValueError, match=r"dloss must be a number or a 0-d array .* got shape \(1,\)"):
        impl.cross_entropy_backward(np.ones(1, np.float32), ctx)


# ------------------------------------------------------------------------------------------------
# gradients (float64, both backends, non-uniform upstream gradients)
# ------------------------------------------------------------------------------------------------

@IMPLS
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["index", "ignore", "soft"])
def test_gradcheck_cross_entropy(rng, impl, reduction, kind):
    x = rng.standard_normal((4, 5)) * 2
    t = {"index": np.array([0, 4, 2, 2]), "ignore": np.array([1, -1, 3, -1]),
         "soft": soft_targets(rng, 4, 5, np.float64)}[kind]
    kw = {"ignore_index": -1} if kind == "ignore" else {}
    gradcheck(lambda x: impl.cross_entropy_forward(x, t, reduction, **kw)[0], [x],
              analytic=lambda d, x: (impl.cross_entropy_backward(d, impl.cross_entropy_forward(x, t, reduction, **kw)[1]),),
              names=["logits"], **TOL["gradcheck"])


@IMPLS
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_soft_unnormalised(rng, impl, reduction):
    # probability rows need not sum to 1 (torch accepts any real targets)
    x, t = rng.standard_normal((3, 4)), rng.random((3, 4)) * 2
    gradcheck(lambda x: impl.cross_entropy_forward(x, t, reduction)[0], [x],
              analytic=lambda d, x: (impl.cross_entropy_backward(d, impl.cross_entropy_forward(x, t, reduction)[1]),),
              names=["logits"], **TOL["gradcheck"])


@IMPLS
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["nll_loss", "mse_loss", "l1_loss"])
def test_gradcheck_others(rng, impl, reduction, name):
    if name == "nll_loss":
        x, t = rng.standard_normal((4, 5)), np.array([0, -100, 4, 1])
    else:
        x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        x += np.sign(x - t) * 0.1                          # keep L1 away from its kink
    fwd, bwd = getattr(impl, name + "_forward"), getattr(impl, name + "_backward")
    gradcheck(lambda x: fwd(x, t, reduction)[0], [x],
              analytic=lambda d, x: (bwd(d, fwd(x, t, reduction)[1]),), names=["input"], **TOL["gradcheck"])


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------

@IMPLS
def test_bad_input_cross_entropy_and_nll(impl):
    x = np.zeros((3, 5), np.float32)
    t = np.array([0, 1, 4])
    for name, arg in (("cross_entropy_forward", "logits"), ("nll_loss_forward", "logp")):
        f = getattr(impl, name)
        with pytest.raises(TypeError, match=f"{arg} must be a numpy.ndarray"):
            f([[0.0] * 5] * 3, t)
        for bad in (np.int64, np.float16, np.complex64):
            with pytest.raises(TypeError, match=f"{arg} must have dtype float32 or float64"):
                f(x.astype(bad), t)
        with pytest.raises(TypeError, match="target class indices must have dtype int64, got int32"):
            f(x, t.astype(np.int32))
        with pytest.raises(TypeError, match="target must be a numpy.ndarray"):
            f(x, [0, 1, 4])
        with pytest.raises(ValueError, match=r"target must have shape \(3,\) to match logits \(3, 5\), got \(2,\)"):
            f(x, t[:2])
        with pytest.raises(ValueError, match=rf"{arg} must be 2-D"):
            f(np.zeros(5, np.float32), t)
        with pytest.raises(ValueError, match=rf"{arg} must have at least one class"):
            f(np.zeros((3, 0), np.float32), t)
        with pytest.raises(ValueError, match=r"target\[1\] = 5 is out of range for 5 classes"):
            f(x, np.array([0, 5, 1]))
        with pytest.raises(ValueError, match=r"target\[2\] = -3 is out of range for 5 classes"):
            f(x, np.array([0, -100, -3]))
        with pytest.raises(ValueError, match=r"target\[0\] = -100 is out of range"):
            f(x, np.array([-100, 0, 1]), ignore_index=-1)
        with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
            f(x, t, "avg")
        with pytest.raises(ValueError, match="reduction must be"):
            f(x, t, None)
        with pytest.raises(TypeError, match="ignore_index must be an int, got float"):
            f(x, t, ignore_index=1.0)
    with pytest.raises(TypeError, match="target has dtype float64 but logits has dtype float32"):
        impl.cross_entropy_forward(x, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"target probabilities must have the logits' shape \(3, 5\), got \(3, 4\)"):
        impl.cross_entropy_forward(x, np.zeros((3, 4), np.float32))
    with pytest.raises(TypeError, match="target class indices must have dtype int64, got float32"):
        impl.cross_entropy_forward(x, np.zeros(3, np.float32))
    loss, ctx = impl.cross_entropy_forward(x, t, "none")
    with pytest.raises(ValueError, match=r"dloss must have the loss's shape \(3,\)"):
        impl.cross_entropy_backward(np.ones(4, np.float32), ctx)
    with pytest.raises(TypeError, match="dloss has dtype float64"):
        impl.cross_entropy_backward(np.ones(3), ctx)
    with pytest.raises(TypeError):
        impl.cross_entropy_backward(np.ones(3, np.float32), None)
    with pytest.raises(TypeError):
        impl.nll_loss_backward(np.ones(3, np.float32), ctx)


@IMPLS
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_bad_input_pointwise(impl, name):
    fwd, bwd = getattr(impl, name + "_forward"), getattr(impl, name + "_backward")
    p = np.zeros((2, 3), np.float32)
    with pytest.raises(TypeError, match="pred must be a numpy.ndarray"):
        fwd([0.0, 1.0], p)
    with pytest.raises(TypeError, match="pred must have dtype float32 or float64, got int64"):
        fwd(np.zeros(3, np.int64), np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="target has dtype float64 but pred has dtype float32"):
        fwd(p, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="target must have dtype float32 or float64, got complex64"):
        fwd(p, np.zeros((2, 3), np.complex64))
    with pytest.raises(ValueError, match=r"target must have pred's shape \(2, 3\) \(no broadcasting\), got \(3,\)"):
        fwd(p, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="reduction must be"):
        fwd(p, p, "elementwise")
    _, ctx = fwd(p, p, "none")
    with pytest.raises(ValueError, match=r"dloss must have the loss's shape \(2, 3\)"):
        bwd(np.zeros((3, 2), np.float32), ctx)
    with pytest.raises(TypeError, match="dloss must be a numpy.ndarray"):
        bwd(1.0, ctx)
    other = "l1_loss" if name == "mse_loss" else "mse_loss"
    with pytest.raises(TypeError):
        bwd(1.0, getattr(impl, other + "_forward")(p, p)[1])


def test_backward_rejects_foreign_ctx():
    x, t = np.ones((2, 3)), np.array([0, 1])
    with pytest.raises(TypeError):
        F.cross_entropy_backward(1.0, R.cross_entropy_forward(x, t)[1])
    with pytest.raises(TypeError):
        R.cross_entropy_backward(1.0, F.cross_entropy_forward(x, t)[1])


# ------------------------------------------------------------------------------------------------
# PyTorch
# ------------------------------------------------------------------------------------------------

def _torch_check(tfn, inputs, loss, grad, dl):
    import torch
    tx = torch.tensor(inputs[0], requires_grad=True)
    rest = [torch.tensor(a) for a in inputs[1:]]
    tl = tfn(tx, *rest)
    tl.backward(torch.tensor(dl))
    assert_close(loss, tl.detach().numpy(), np.float64, "loss")
    assert_close(grad, tx.grad.numpy(), np.float64, "grad")


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["index", "ignore", "ignore_in_range", "soft"])
def test_cross_entropy_matches_torch(rng, reduction, kind):
    import torch
    x = rng.standard_normal((7, 5)) * 3
    t = {"index": rng.integers(0, 5, 7), "ignore": np.array([0, -100, 4, -100, 1, 2, 3]),
         "ignore_in_range": np.array([0, 2, 4, 2, 1, 2, 3]), "soft": rng.random((7, 5))}[kind]
    ii = 2 if kind == "ignore_in_range" else -100
    loss, ctx = F.cross_entropy_forward(x, t, reduction, ii)
    dl = rng.standard_normal(loss.shape)
    grad = F.cross_entropy_backward(dl, ctx)
    _torch_check(lambda a, b: torch.nn.functional.cross_entropy(a, b, reduction=reduction, ignore_index=ii),
                 [x, t], loss, grad, dl)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_matches_torch(rng, reduction):
    import torch
    x = rng.standard_normal((6, 4))
    t = np.array([0, 3, -100, 1, 1, 2])
    loss, ctx = F.nll_loss_forward(x, t, reduction)
    dl = rng.standard_normal(loss.shape)
    _torch_check(lambda a, b: torch.nn.functional.nll_loss(a, b, reduction=reduction),
                 [x, t], loss, F.nll_loss_backward(dl, ctx), dl)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_pointwise_matches_torch(rng, reduction, name):
    import torch
    p, t = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    t[0, 0, 0] = p[0, 0, 0]                                # L1 subgradient at 0 is 0 in torch too
    loss, ctx = getattr(F, name + "_forward")(p, t, reduction)
    dl = rng.standard_normal(loss.shape)
    _torch_check(lambda a, b: getattr(torch.nn.functional, name)(a, b, reduction=reduction),
                 [p, t], loss, getattr(F, name + "_backward")(dl, ctx), dl)


@needs_torch
def test_empty_and_all_ignored_match_torch():
    import torch
    x = np.ones((3, 4))
    for t in (np.full(3, -100),):
        ours = F.cross_entropy_forward(x, t)[0]
        theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)).numpy()
        assert np.isnan(ours) and np.isnan(theirs)
    ours = F.mse_loss_forward(np.ones(0), np.ones(0))[0]
    assert np.isnan(ours) and np.isnan(torch.nn.functional.mse_loss(torch.ones(0), torch.ones(0)).item())


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

@pytest.mark.parametrize("op", ["cross_entropy", "mse_loss", "l1_loss", "nll_loss"])
def test_byte_swapped_0d_dloss_is_read_by_value(backend, op, dtype):
    # the binding read a byte-swapped 0-d dloss's raw bytes: gradients of 1e+282
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(dtype)
    target = np.array([0, 3, 1]) if op in ("cross_entropy", "nll_loss") else rng.standard_normal((3, 4)).astype(dtype)
    _, ctx = getattr(backend, op + "_forward")(x, target)
    d = np.array(0.7, dtype)
    want = getattr(backend, op + "_backward")(d, ctx)
    got = getattr(backend, op + "_backward")(d.astype(d.dtype.newbyteorder()), ctx)
    assert_close(got, want, dtype)


@pytest.mark.parametrize("op", ["cross_entropy_forward", "nll_loss_forward"])
def test_ignore_index_beyond_int64_is_valueerror(backend, op):
    # the binding raised OverflowError
    for ii in (10**19, -10**19):
        with pytest.raises(ValueError, match="ignore_index"):
            getattr(backend, op)(np.zeros((2, 3)), np.array([0, 1]), ignore_index=ii)
