"""out= buffers on the forward kernels, both backends: the result is written into out and out is
returned (``y is out``), bit for bit the no-out result; backward after a forward with out= gives
the same gradients; out is validated (type, dtype, shape, C-contiguous, aligned, writeable, no
overlap with any input) with the same exception and message on both backends; inputs untouched.

A new function with out= is one line in CASES: (id, function name, builder). The builder takes
(rng, dtype) and returns the keyword arguments; ALIAS names the input the overlap tests alias
when it is not "x"; MUTATED lists inputs a forward updates in place by design.
"""
import numpy as np
import pytest

from fastnn import functional as F
from fastnn import reference as R

BACKENDS = {"compiled": F, "reference": R}
DTYPES = [np.float32, np.float64]


def _a(rng, shape, dt):
    return rng.standard_normal(shape).astype(dt)


CASES = [
    ("linear", "linear_forward", lambda r, d: dict(x=_a(r, (5, 7), d), weight=_a(r, (4, 7), d),
                                                   bias=_a(r, (4,), d), activation="tanh")),
    ("linear-nobias-relu", "linear_forward", lambda r, d: dict(x=_a(r, (3, 6), d), weight=_a(r, (5, 6), d),
                                                               activation="relu")),
    ("relu", "relu_forward", lambda r, d: dict(x=_a(r, (3, 5), d))),
    ("leaky_relu", "leaky_relu_forward", lambda r, d: dict(x=_a(r, (3, 5), d), negative_slope=0.2)),
    ("sigmoid", "sigmoid_forward", lambda r, d: dict(x=_a(r, (3, 5), d))),
    ("tanh", "tanh_forward", lambda r, d: dict(x=_a(r, (3, 5), d))),
    ("sign", "sign_forward", lambda r, d: dict(x=_a(r, (3, 5), d))),
    ("gelu", "gelu_forward", lambda r, d: dict(x=_a(r, (3, 5), d))),
    ("softmax", "softmax_forward", lambda r, d: dict(x=_a(r, (4, 6), d), axis=0)),
    ("log_softmax", "log_softmax_forward", lambda r, d: dict(x=_a(r, (4, 6), d))),
    ("conv2d", "conv2d_forward", lambda r, d: dict(x=_a(r, (2, 3, 6, 5), d), weight=_a(r, (4, 3, 3, 3), d),
                                                   bias=_a(r, (4,), d), padding=1, activation="relu")),
    ("conv2d-groups", "conv2d_forward", lambda r, d: dict(x=_a(r, (2, 4, 5, 5), d),
                                                          weight=_a(r, (6, 2, 3, 3), d), stride=2, groups=2)),
    ("im2col", "im2col", lambda r, d: dict(x=_a(r, (2, 3, 5, 5), d), kernel_size=3, padding=1)),
    ("col2im", "col2im", lambda r, d: dict(cols=_a(r, (2, 27, 25), d), input_size=5, kernel_size=3,
                                           padding=1)),
    ("max_pool2d", "max_pool2d_forward", lambda r, d: dict(x=_a(r, (2, 3, 6, 6), d), kernel_size=2)),
    ("avg_pool2d", "avg_pool2d_forward", lambda r, d: dict(x=_a(r, (2, 3, 7, 6), d), kernel_size=3,
                                                           stride=2, padding=1, count_include_pad=False)),
    ("global_avg_pool2d", "global_avg_pool2d_forward", lambda r, d: dict(x=_a(r, (2, 3, 4, 5), d))),
    ("embedding", "embedding_forward", lambda r, d: dict(indices=r.integers(0, 10, (3, 4)),
                                                         weight=_a(r, (10, 6), d), padding_idx=0)),
    ("dropout", "dropout_forward", lambda r, d: dict(x=_a(r, (4, 5), d), p=0.3, rng=7)),
    ("dropout-eval", "dropout_forward", lambda r, d: dict(x=_a(r, (4, 5), d), p=0.3, training=False)),
    ("dropout-p1", "dropout_forward", lambda r, d: dict(x=_a(r, (4, 5), d), p=1.0)),
    ("batch_norm", "batch_norm_forward", lambda r, d: dict(
        x=_a(r, (4, 3, 2, 2), d), gamma=_a(r, (3,), d), beta=_a(r, (3,), d),
        running_mean=np.zeros(3, d), running_var=np.ones(3, d))),
    ("batch_norm-eval", "batch_norm_forward", lambda r, d: dict(
        x=_a(r, (4, 3), d), running_mean=_a(r, (3,), d), running_var=np.full(3, 2.0, d), training=False)),
    ("layer_norm", "layer_norm_forward", lambda r, d: dict(x=_a(r, (3, 4, 5), d), gamma=_a(r, (5,), d),
                                                           beta=_a(r, (5,), d))),
]
ALIAS = {"embedding": "weight", "col2im": "cols"}
MUTATED = {"batch_norm": {"running_mean", "running_var"}}
NO_BACKWARD = {"im2col", "col2im"}
IDS = [c[0] for c in CASES]


def case(request_id):
    return next(c for c in CASES if c[0] == request_id)


def build(case_id, dtype, seed=0):
    _, _, builder = case(case_id)
    return builder(np.random.default_rng(seed), dtype)


def forward(backend, case_id, kwargs, **extra):
    """(y, ctx); ctx None for the functions without a backward (im2col, col2im)."""
    res = getattr(BACKENDS[backend], case(case_id)[1])(**kwargs, **extra)
    return (res, None) if case_id in NO_BACKWARD else res


def reference_result(backend, case_id, dtype, seed=0):
    """The no-out result for the arguments of this seed."""
    return forward(backend, case_id, build(case_id, dtype, seed))[0]


def grads(backend, case_id, y, ctx):
    """The backward's gradients for a fixed non-uniform dy, as a tuple."""
    name = case(case_id)[1].replace("_forward", "_backward")
    dy = np.random.default_rng(99).standard_normal(y.shape).astype(y.dtype)
    g = getattr(BACKENDS[backend], name)(dy, ctx)
    return g if isinstance(g, tuple) else (g,)


def equal(a, b):
    """Bitwise equality, NaN equal to NaN."""
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    return request.param


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


# ---- semantics -------------------------------------------------------------------------------

@pytest.mark.parametrize("cid", IDS)
def test_result_is_out_and_equal(backend, dtype, cid):
    y0 = reference_result(backend, cid, dtype)
    out = np.full(y0.shape, np.nan, dtype)          # garbage: the kernel must not read it
    kw = build(cid, dtype)
    before = {k: v.copy() for k, v in kw.items() if isinstance(v, np.ndarray)}
    y, _ = forward(backend, cid, kw, out=out)
    assert y is out
    equal(y, y0)
    for k, v in before.items():                     # inputs untouched
        if k not in MUTATED.get(cid, ()):
            np.testing.assert_array_equal(kw[k], v, err_msg=k)


@pytest.mark.parametrize("cid", IDS)
def test_out_reused_across_calls(backend, dtype, cid):
    shape = reference_result(backend, cid, dtype).shape
    out = np.empty(shape, dtype)
    for seed in (1, 2, 3):
        y, _ = forward(backend, cid, build(cid, dtype, seed), out=out)
        assert y is out
        equal(out, reference_result(backend, cid, dtype, seed))


@pytest.mark.parametrize("cid", [c for c in IDS if c not in NO_BACKWARD])
def test_backward_after_out_same_gradients(backend, dtype, cid):
    y0, ctx0 = forward(backend, cid, build(cid, dtype))
    out = np.full(y0.shape, np.nan, dtype)
    y, ctx = forward(backend, cid, build(cid, dtype), out=out)
    for g0, g in zip(grads(backend, cid, y0, ctx0), grads(backend, cid, y, ctx)):
        if g0 is None:
            assert g is None
        else:
            equal(g, g0)


def test_ctx_reads_out_documented_hazard(backend):
    """The documented hazard: relu's ctx keeps y, which is out; overwriting out before backward
    changes the gradient (this is the contract, not a bug)."""
    x = np.array([-1.0, 2.0, 3.0])
    out = np.empty(3)
    y, ctx = getattr(BACKENDS[backend], "relu_forward")(x, out=out)
    assert ctx.y is out
    out[...] = 0
    dx = BACKENDS[backend].relu_backward(np.ones(3), ctx)
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0])


# ---- validation ------------------------------------------------------------------------------

def _strided(shape, dtype):
    """A non-C-contiguous array of this shape (strided along its first axis of size > 1)."""
    ax = next(i for i, s in enumerate(shape) if s > 1)
    big = list(shape)
    big[ax] *= 2
    return np.empty(big, dtype)[(slice(None),) * ax + (slice(None, None, 2),)]


def _readonly(shape, dtype):
    a = np.empty(shape, dtype)
    a.setflags(write=False)
    return a


def _misaligned(shape, dtype):
    n = int(np.prod(shape))
    a = np.frombuffer(bytearray(n * np.dtype(dtype).itemsize + 1), dtype, count=n, offset=1)
    return a.reshape(shape)


def _other_dtype(shape, dtype):
    return np.empty(shape, np.float64 if dtype == np.float32 else np.float32)


BAD_OUTS = {
    # rule: (make the bad out from (shape, dtype), exception, words the message must contain)
    "list": (lambda s, d: np.zeros(s, d).tolist(), TypeError, ["numpy.ndarray", "list"]),
    "scalar": (lambda s, d: 0.0, TypeError, ["numpy.ndarray", "float"]),
    "dtype": (_other_dtype, TypeError, ["float32", "float64"]),
    "int-dtype": (lambda s, d: np.empty(s, np.int64), TypeError, ["int64"]),
    "byteswapped": (lambda s, d: np.empty(s, np.dtype(d).newbyteorder()), TypeError, ["dtype"]),
    "shape-ndim": (lambda s, d: np.empty(s + (1,), d), ValueError, ["shape"]),
    "shape-size": (lambda s, d: np.empty(s[:-1] + (s[-1] + 1,), d), ValueError, ["shape"]),
    "noncontiguous": (_strided, ValueError, ["C-contiguous"]),
    "fortran": (lambda s, d: np.empty(s[::-1], d).T, ValueError, ["C-contiguous"]),
    "readonly": (_readonly, ValueError, ["writeable"]),
    "misaligned": (_misaligned, ValueError, ["aligned"]),
}


@pytest.mark.parametrize("rule", list(BAD_OUTS))
@pytest.mark.parametrize("cid", IDS)
def test_bad_out_rejected_same_message(dtype, cid, rule):
    make_bad, exc, words = BAD_OUTS[rule]
    shape = reference_result("compiled", cid, dtype).shape
    bad = make_bad(shape, dtype)
    if rule == "fortran" and bad.flags.c_contiguous:
        pytest.skip("a Fortran-order array of this shape is also C-contiguous")
    msgs = {}
    for b in BACKENDS:
        kw = build(cid, dtype)
        before = {k: v.copy() for k, v in kw.items() if isinstance(v, np.ndarray)}
        with pytest.raises(exc) as err:
            forward(b, cid, kw, out=bad)
        msgs[b] = str(err.value)
        for word in words:
            assert word in msgs[b], (b, msgs[b])
        for k, v in before.items():                 # nothing written, running buffers included
            np.testing.assert_array_equal(kw[k], v, err_msg=k)
    assert msgs["compiled"] == msgs["reference"]


def _same_shape(cid, dtype):
    kw = build(cid, dtype)
    name = ALIAS.get(cid, "x")
    return kw[name].shape == reference_result("compiled", cid, dtype).shape


@pytest.mark.parametrize("how", ["itself", "view"])
@pytest.mark.parametrize("cid", [c for c in IDS if _same_shape(c, np.float64)])
def test_out_is_input_rejected(backend, dtype, cid, how):
    kw = build(cid, dtype)
    name = ALIAS.get(cid, "x")
    x = kw[name]
    keep = x.copy()
    out = x if how == "itself" else x[...]
    with pytest.raises(ValueError, match=f"out must not overlap {name}$"):
        forward(backend, cid, kw, out=out)
    np.testing.assert_array_equal(x, keep)


def out_size(shape):
    return int(np.prod(shape))


@pytest.mark.parametrize("layout", ["one-element", "adjacent", "in-the-gap"])
@pytest.mark.parametrize("cid", IDS)
def test_out_overlapping_input(dtype, cid, layout):
    """out and an input are views into one buffer. "one-element": out's first element is the
    input's last (rejected). "adjacent": out starts right after the input (accepted: the bounds
    test is exact for contiguous arrays). "in-the-gap": the input is a row-strided view and out
    sits in the gap after its first row: no shared element, but the bounds overlap, so both
    backends reject it (conservatively, as np.may_share_memory would)."""
    name = ALIAS.get(cid, "x")
    shape = reference_result("compiled", cid, dtype).shape
    n = out_size(shape)
    for b in BACKENDS:
        kw = build(cid, dtype)
        a = kw[name]
        if layout == "in-the-gap":
            rows = a.shape[0]
            buf = np.empty((rows, a.size // rows + n), dtype)
            view = buf[:, :a.size // rows].reshape(a.shape)
            out = buf[0, a.size // rows:].reshape(shape)
            assert not np.shares_memory(view, out) and np.may_share_memory(view, out)
        else:
            start = a.size - (1 if layout == "one-element" else 0)
            buf = np.empty(start + n, dtype)
            view = buf[:a.size].reshape(a.shape)
            out = buf[start:].reshape(shape)
        view[...] = a
        kw[name] = view
        if layout == "adjacent":
            y, _ = forward(b, cid, kw, out=out)
            assert y is out
            equal(y, reference_result(b, cid, dtype))
        else:
            with pytest.raises(ValueError, match=f"out must not overlap {name}$"):
                forward(b, cid, kw, out=out)
        np.testing.assert_array_equal(view, a)


@pytest.mark.parametrize("cid", ["linear", "conv2d", "batch_norm", "layer_norm"])
def test_out_overlapping_other_inputs_rejected(backend, dtype, cid):
    """out may overlap none of the inputs: each array argument in turn is made out's neighbour
    in one buffer, one element inside out's range."""
    kw0 = build(cid, dtype)
    shape = reference_result("compiled", cid, dtype).shape
    for name, a in kw0.items():
        if not isinstance(a, np.ndarray) or name == "x":
            continue
        kw = build(cid, dtype)
        n = out_size(shape)
        buf = np.empty(n + a.size - 1, dtype)
        out = buf[:n].reshape(shape)
        view = buf[n - 1:].reshape(a.shape)
        view[...] = a
        kw[name] = view
        with pytest.raises(ValueError, match=f"out must not overlap {name}$"):
            forward(backend, cid, kw, out=out)


def test_embedding_out_untouched_on_bad_index(backend):
    w = np.arange(12.0).reshape(4, 3)
    out = np.full((2, 3), -7.0)
    with pytest.raises(ValueError, match="out of range"):
        BACKENDS[backend].embedding_forward(np.array([1, 4]), w, out=out)
    assert (out == -7.0).all()


def test_dropout_bad_out_does_not_draw(backend):
    gen = np.random.default_rng(3)
    state = gen.bit_generator.state
    with pytest.raises(ValueError):
        BACKENDS[backend].dropout_forward(np.ones((2, 3)), 0.5, rng=gen, out=np.empty((3, 2)))
    assert gen.bit_generator.state == state


def test_out_is_keyword_only(backend):
    with pytest.raises(TypeError):
        BACKENDS[backend].relu_forward(np.ones(3), np.empty(3))


def test_zero_size_out(backend, dtype):
    """An empty result: any empty out of the right shape/dtype is accepted (no memory, no overlap)."""
    x = np.empty((0, 4), dtype)
    out = x.reshape(4, 0).T.copy()
    y, _ = BACKENDS[backend].relu_forward(x, out=out)
    assert y is out and y.shape == (0, 4)


@pytest.mark.parametrize("fname", sorted({c[1] for c in CASES}))
def test_signatures_match(fname):
    """out is keyword-only, defaults to None, and the two backends have the same signature."""
    import inspect
    sig = inspect.signature(getattr(F, fname))
    assert sig == inspect.signature(getattr(R, fname))
    p = sig.parameters["out"]
    assert p.kind is p.KEYWORD_ONLY and p.default is None
