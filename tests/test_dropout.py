"""dropout family: the counter-based mask (bit-identical across backends and thread counts),
statistics, gradients, identity/zero cases, bad input, torch semantics."""
import math

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R
from fastnn.gradcheck import gradcheck
from fastnn.reference.dropout import keep_mask
from conftest import assert_close, make, LAYOUTS, TOL, needs_torch

SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4), (0,), (4, 0), (129, 257)]
IMPLS = pytest.mark.parametrize("impl", [F, R], ids=["compiled", "reference"])


def test_hash_is_splitmix64():
    # element i gets splitmix64's (i+1)-th output for state `key`: check against a plain-Python
    # splitmix64 (reference vectors of the generator itself)
    def splitmix64(state, count):
        out = []
        for _ in range(count):
            state = (state + 0x9E3779B97F4A7C15) % 2 ** 64
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2 ** 64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2 ** 64
            out.append(z ^ (z >> 31))
        return out
    key = 0x0123456789ABCDEF
    u = [(h >> 11) for h in splitmix64(key, 1000)]
    for p in (0.1, 0.5, 0.77):
        thr = math.ceil(p * 2 ** 53)
        want = np.array([v >= thr for v in u])
        np.testing.assert_array_equal(keep_mask(key, 1000, thr), want)
    # splitmix64(0) first output, a published test value
    assert splitmix64(0, 1)[0] == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_parity_bit_identical(rng, dtype, shape, p):
    x = make(rng, shape, dtype)
    y, ctx = F.dropout_forward(x, p, rng=1234)
    yr, ctxr = R.dropout_forward(x, p, rng=1234)
    assert ctx.key == ctxr.key and ctx.threshold == ctxr.threshold and ctx.mode == ctxr.mode == "mask"
    np.testing.assert_array_equal(y, yr)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_array_equal(ctx.mask(), ctxr.mask())
    dy = make(rng, shape, dtype)
    np.testing.assert_array_equal(F.dropout_backward(dy, ctx), R.dropout_backward(dy, ctxr))
    np.testing.assert_array_equal(F.dropout_backward(dy, ctx), np.where(ctx.mask(), dy * dtype(ctx.scale), 0))


@IMPLS
def test_seed_and_generator(impl):
    x = np.ones((50, 40), np.float32)
    a, _ = impl.dropout_forward(x, 0.5, rng=7)
    b, _ = impl.dropout_forward(x, 0.5, rng=np.int64(7))
    c, _ = impl.dropout_forward(x, 0.5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)                   # one key drawn from default_rng(seed)
    g = np.random.default_rng(7)
    first, _ = impl.dropout_forward(x, 0.5, rng=g)
    second, _ = impl.dropout_forward(x, 0.5, rng=g)       # the generator advanced: a new mask
    assert not np.array_equal(first, second)
    assert not np.array_equal(impl.dropout_forward(x, 0.5)[0], impl.dropout_forward(x, 0.5)[0])
    # the key is one draw of the generator: what integers(0, 2**64, uint64) would have given
    _, ctx = impl.dropout_forward(x, 0.5, rng=np.random.default_rng(31))
    assert ctx.key == int(np.random.default_rng(31).integers(0, 2 ** 64, dtype=np.uint64))


def test_mask_independent_of_thread_count(rng):
    x = make(rng, (1000, 300), np.float32)
    before = fastnn.get_num_threads()
    try:
        outs = []
        for nt in (1, 2, 3):
            fastnn.set_num_threads(nt)
            y, ctx = F.dropout_forward(x, 0.4, rng=99)
            outs.append((y, F.dropout_backward(x, ctx), ctx.mask()))
    finally:
        fastnn.set_num_threads(before)
    for o in outs[1:]:
        for a, b in zip(o, outs[0]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [0.3, 0.05, 0.5, 0.95])
def test_keep_rate_and_mean(p):
    n = 1_000_000
    y, ctx = F.dropout_forward(np.ones(n, np.float64), p, rng=2024)
    kept = np.count_nonzero(y)
    sd = math.sqrt(n * p * (1 - p))
    assert abs(kept - n * (1 - p)) < 5 * sd
    assert abs(y.mean() - 1) < 5 * math.sqrt(p / (1 - p) / n)
    np.testing.assert_array_equal(np.unique(y), [0, 1 / (1 - p)] if p else [1])
    m = ctx.mask()
    # neighbours and elements far apart are independent: P(both kept) = (1-p)^2
    for lag in (1, 8, 4096):
        both = np.count_nonzero(m[:-lag] & m[lag:])
        assert abs(both - (n - lag) * (1 - p) ** 2) < 6 * math.sqrt(n * (1 - p) ** 2)


@IMPLS
def test_identity_and_zero_cases(impl, dtype, rng):
    x = make(rng, (4, 3), dtype)
    for kw in ({"p": 0.0}, {"p": 0.5, "training": False}, {"p": 1.0, "training": False}):
        y, ctx = impl.dropout_forward(x, **kw)
        assert ctx.mode == "identity" and y is not x
        np.testing.assert_array_equal(y, x)
        dy = make(rng, x.shape, dtype)
        np.testing.assert_array_equal(impl.dropout_backward(dy, ctx), dy)
        assert ctx.mask().all()
    y, ctx = impl.dropout_forward(x, 1.0)
    assert ctx.mode == "zero" and y.dtype == dtype
    np.testing.assert_array_equal(y, np.zeros_like(x))
    np.testing.assert_array_equal(impl.dropout_backward(x, ctx), np.zeros_like(x))
    assert not ctx.mask().any()


def test_identity_draws_nothing():
    g = np.random.default_rng(3)
    state = g.bit_generator.state
    F.dropout_forward(np.ones(3), 0.5, training=False, rng=g)
    F.dropout_forward(np.ones(3), 0.0, rng=g)
    F.dropout_forward(np.ones(3), 1.0, rng=g)
    assert g.bit_generator.state == state


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_and_inputs_untouched(rng, dtype, layout):
    x = make(rng, (6, 5), dtype, layout)
    dy = make(rng, (6, 5), dtype, layout)
    xc, dyc = x.copy(), dy.copy()
    y, ctx = F.dropout_forward(x, 0.3, rng=5)
    yr, ctxr = R.dropout_forward(xc, 0.3, rng=5)
    np.testing.assert_array_equal(y, yr)                  # the mask follows the C-order index
    np.testing.assert_array_equal(F.dropout_backward(dy, ctx), R.dropout_backward(dyc, ctxr))
    assert y.flags.c_contiguous
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(dy, dyc)


@IMPLS
@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_gradcheck_fixed_mask(rng, impl, p):
    x = rng.standard_normal((5, 4))
    gradcheck(lambda x: impl.dropout_forward(x, p, rng=11)[0], [x],
              analytic=lambda d, x: (impl.dropout_backward(d, impl.dropout_forward(x, p, rng=11)[1]),),
              names=["x"], **TOL["gradcheck"])


@IMPLS
def test_bad_input(impl):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        impl.dropout_forward([1.0, 2.0], 0.5)
    for bad in (np.int32, np.float16, np.complex128):
        with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
            impl.dropout_forward(np.ones(3, bad), 0.5)
    for p in (-0.1, 1.5, float("nan"), -1):
        with pytest.raises(ValueError, match="p must be in"):
            impl.dropout_forward(x, p)
    for p in ("0.5", None, True, np.array([0.5])):
        with pytest.raises(TypeError, match="p must be a float"):
            impl.dropout_forward(x, p)
    for r in ("seed", 1.5, True, np.random.RandomState(0)):
        with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
            impl.dropout_forward(x, 0.5, rng=r)
    with pytest.raises(TypeError, match="rng must be"):      # checked in eval mode too
        impl.dropout_forward(x, 0.5, training=False, rng="seed")
    with pytest.raises(ValueError, match="rng seed must be a non-negative int"):
        impl.dropout_forward(x, 0.5, rng=-1)
    y, ctx = impl.dropout_forward(x, 0.5, rng=0)
    with pytest.raises(ValueError, match=r"dy must have the forward input's shape \(2, 3\), got \(3, 2\)"):
        impl.dropout_backward(np.ones((3, 2), np.float32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64 but x has dtype float32"):
        impl.dropout_backward(np.ones((2, 3)), ctx)
    with pytest.raises(TypeError, match="dy must be a numpy.ndarray"):
        impl.dropout_backward([[1.0] * 3] * 2, ctx)
    with pytest.raises(TypeError):
        impl.dropout_backward(np.ones((2, 3), np.float32), None)


def test_backward_rejects_foreign_ctx():
    with pytest.raises(TypeError):
        F.dropout_backward(np.ones(2), R.dropout_forward(np.ones(2), 0.5, rng=0)[1])
    with pytest.raises(TypeError):
        R.dropout_backward(np.ones(2), F.dropout_forward(np.ones(2), 0.5, rng=0)[1])


@needs_torch
@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 1.0])
def test_matches_torch_semantics(rng, p):
    """torch's masks come from another generator; what must match is everything else: the
    scaling of kept elements, zeros where dropped, identity/zero cases, and the gradient
    being the same masked scaling."""
    import torch
    x = rng.standard_normal((64, 33)).astype(np.float32)
    y, ctx = F.dropout_forward(x, p, rng=1)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.dropout(tx, p, training=True)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    ty.backward(torch.tensor(dy))
    tkeep = ty.detach().numpy() != 0
    keep = ctx.mask()
    # kept elements scaled the same way (compare on the elements both kept)
    both = keep & tkeep
    assert_close(y[both], ty.detach().numpy()[both], np.float32)
    assert np.all(y[~keep] == 0)
    assert_close(F.dropout_backward(dy, ctx)[both], tx.grad.numpy()[both], np.float32)
    if p in (0.0, 1.0):
        np.testing.assert_array_equal(keep, tkeep if p == 1.0 else np.ones_like(keep))
    with torch.no_grad():
        np.testing.assert_array_equal(F.dropout_forward(x, p, training=False)[0],
                                      torch.nn.functional.dropout(torch.tensor(x), p, training=False).numpy())


# ---- regressions found by the fuzzer (tests/fuzz_kernels.py) ------------------------------------

def test_byte_swapped_dy_is_not_a_mixed_dtype(backend, dtype):
    # the reference called a byte-swapped dy "mixed dtypes"
    x = np.ones((3, 4), dtype)
    _, ctx = backend.dropout_forward(x, 0.5, rng=1)
    d = np.arange(12, dtype=dtype).reshape(3, 4)
    assert_close(backend.dropout_backward(d.astype(d.dtype.newbyteorder()), ctx),
                 backend.dropout_backward(d, ctx), dtype)
