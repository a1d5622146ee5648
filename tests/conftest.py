"""Shared test configuration: the one tolerance table, backends, data paths."""
import os
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from fastnn import reference as R

# ---------------------------------------------------------------------------------------------
# The tolerance table: compiled kernel vs numpy twin, per dtype. One place, justified here.
#
# float32: both sides round every op to 24 bits but in different orders (BLAS blocking, fused
#   multiply-adds in the AVX2 clones, double accumulators in our reductions vs pairwise sums in
#   numpy), so results drift by a few ulps per accumulated term; for sums over up to ~1e4 terms
#   of O(1) values that is ~1e-5 relative. rtol 1e-4 / atol 1e-5 leaves a 10x margin and still
#   catches any real bug (a wrong index is off by O(1)).
# float64: the same argument at 53 bits: rtol 1e-10 / atol 1e-12.
# "approx": kernels that use our own vectorised exp/log/erf polynomials (accurate to a few ulps)
#   and compound them (softmax, cross-entropy, GELU) get 4x the float32 budget.
# atol is norm-wise: it is scaled by max(1, max|expected|), because a sum of K terms carries an
#   absolute error proportional to the size of its terms, not of its result (a dot product that
#   cancels to 0.02 from terms of size 30 is only good to ~30 * K * eps).
# gradcheck: centred differences with eps 1e-6 in float64 have truncation error ~eps^2*f''' and
#   rounding error ~1e-16/eps = 1e-10 per element: atol 1e-6, rtol 1e-5.
# ---------------------------------------------------------------------------------------------
TOL = {
    np.float32: dict(rtol=1e-4, atol=1e-5),
    np.float64: dict(rtol=1e-10, atol=1e-12),
    "approx32": dict(rtol=4e-4, atol=4e-5),
    "gradcheck": dict(atol=1e-6, rtol=1e-5),
}

DTYPES = [np.float32, np.float64]
DATA = Path(os.environ.get("FASTNN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
# The directory the fastnn under test was imported from (the source tree for an in-place build,
# site-packages for an installed wheel): subprocesses put it first on PYTHONPATH so that they
# import that same fastnn, also when the tests run from a copy outside the tree (.ci/wheel.sh).
FASTNN_HOME = Path(fastnn.__file__).resolve().parents[1]


def tol(dtype):
    return TOL[np.dtype(dtype).type]


def assert_close(actual, expected, dtype=None, what="", approx=False):
    """Parity assertion with the table above; None must match None."""
    if expected is None or actual is None:
        assert actual is None and expected is None, f"{what}: {actual!r} vs {expected!r}"
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    dtype = np.dtype(dtype or expected.dtype).type
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
    t = dict(TOL["approx32"] if (approx and dtype is np.float32) else TOL[dtype])
    finite = expected[np.isfinite(expected)]
    t["atol"] *= max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    np.testing.assert_allclose(actual, expected, err_msg=what, **t)


def make(rng, shape, dtype, layout="c"):
    """A random array in an awkward layout: 'c' contiguous, 'f' Fortran order (non-contiguous
    for ndim >= 2), 'strided' a strided view, 'ro' read-only."""
    a = rng.standard_normal(shape).astype(dtype)
    if layout == "f":
        return np.asfortranarray(a)
    if layout == "strided":
        big = np.zeros(shape[:-1] + (2 * shape[-1],) if shape else (2,), dtype=dtype)
        view = big[..., ::2] if shape else big[::2].reshape(())
        view[...] = a
        return view
    if layout == "ro":
        a.setflags(write=False)
        return a
    return a


LAYOUTS = ["c", "f", "strided", "ro"]


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(params=["compiled", "reference"])
def backend(request):
    return F if request.param == "compiled" else R


def mnist_dir():
    d = DATA / "mnist-t10k"
    return d if d.exists() else None


try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except Exception:  # pragma: no cover - torch is optional
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch not installed (optional)")


# ---- shared by tests/test_activation.py and tests/test_softmax.py (convpool clean-up) --------

def check_bad_input(impl, op, other):
    """impl's <op>_forward rejects a non-array x and a non-float dtype, and <op>_backward, given
    the ctx of a float32 (2, 3) forward, rejects a dy of another shape, dtype or type, and
    (TypeError) None, the ctx of impl's <other>_forward and that of the other backend's <op>."""
    f, b = getattr(impl, f"{op}_forward"), getattr(impl, f"{op}_backward")
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        f([1.0, 2.0])
    for dt in (np.int64, np.float16, np.complex64, np.complex128, bool):
        with pytest.raises(TypeError, match="x must have dtype float32 or float64"):
            f(np.ones(3, dt))
    x = np.ones((2, 3), np.float32)
    _, ctx = f(x)
    with pytest.raises(ValueError, match=r"dy must have the forward output's shape \(2, 3\), got \(3, 2\)"):
        b(np.ones((3, 2), np.float32), ctx)
    with pytest.raises(TypeError, match="dy has dtype float64 but x has dtype float32"):
        b(np.ones((2, 3), np.float64), ctx)
    with pytest.raises(TypeError, match="dy must be a numpy.ndarray"):
        b([[1.0] * 3] * 2, ctx)
    other_backend = R if impl is F else F
    for wrong in (None, getattr(impl, f"{other}_forward")(x)[1],
                  getattr(other_backend, f"{op}_forward")(x)[1]):
        with pytest.raises(TypeError):
            b(np.ones((2, 3), np.float32), wrong)
