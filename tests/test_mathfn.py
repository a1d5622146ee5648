"""csrc/mathfn.h: the vectorised exp / expm1 / sigmoid / tanh against numpy, in ulps, over the
whole range (subnormal results, overflow, infinities, NaN). Exposed through a private hook."""
import math

import numpy as np
import pytest

from fastnn._activation import _mathfn_for_tests as mathfn

REF = {"exp": np.exp, "expm1": np.expm1, "tanh": np.tanh,
       "sigmoid": lambda v: np.where(v >= 0, 1 / (1 + np.exp(-np.abs(v))),
                                     np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v))))}
# max error in ulps of the correctly rounded result (measured: f32 exp 1.04, expm1 1.44, tanh 2.16,
# sigmoid 2.6; f64 against numpy, itself within 1 ulp: exp 1, expm1 2, tanh 3)
MAX_ULPS = {np.float32: {"exp": 2, "expm1": 2, "tanh": 3, "sigmoid": 3},
            np.float64: {"exp": 2, "expm1": 3, "tanh": 4, "sigmoid": 4}}
RANGE = {np.float32: (-110.0, 95.0), np.float64: (-750.0, 712.0)}


def inputs(dtype):
    lo, hi = RANGE[dtype]
    rng = np.random.default_rng(7)
    return np.concatenate([np.linspace(lo, hi, 400_001), rng.standard_normal(20_000) * 1e-3,
                           rng.standard_normal(20_000) * 3, [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)


@pytest.mark.parametrize("name", ["exp", "expm1", "tanh", "sigmoid"])
def test_ulps(dtype, name):
    x = inputs(dtype)
    got = mathfn(name, x)
    with np.errstate(all="ignore"):
        # truth: float64 numpy for float32 inputs (exact enough), numpy itself for float64
        ref = REF[name](x.astype(np.float64))
        rounded = ref.astype(dtype)                 # overflows to inf on purpose
    finite = np.isfinite(rounded)
    np.testing.assert_array_equal(got[~finite], rounded[~finite])    # overflow to +-inf the same
    step = np.maximum(np.spacing(np.abs(rounded[finite])), np.spacing(dtype(0))).astype(np.float64)
    ulps = np.abs(got[finite].astype(np.float64) - ref[finite]) / step
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= MAX_ULPS[dtype][name], \
        f"{name}({x[finite][worst]!r}) = {got[finite][worst]!r}, want {ref[finite][worst]!r}: {ulps[worst]:.2f} ulp"


def test_special_values(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([-inf, inf, nan, -0.0, 0.0, -1e4, 1e4], dtype)
    np.testing.assert_array_equal(mathfn("exp", x), [0, inf, nan, 1, 1, 0, inf])
    np.testing.assert_array_equal(mathfn("expm1", x), [-1, inf, nan, 0, 0, -1, inf])
    np.testing.assert_array_equal(mathfn("tanh", x), [-1, 1, nan, 0, 0, -1, 1])
    np.testing.assert_array_equal(mathfn("sigmoid", x), [0, 1, nan, 0.5, 0.5, 0, 1])
    assert np.signbit(mathfn("tanh", x)[3])    # expm1(-0) is +0 (documented in mathfn.h)


def test_subnormal_exp(dtype):
    tiny = np.finfo(dtype).smallest_subnormal
    with np.errstate(divide="ignore"):              # float64: 0.4 * tiny rounds to 0, log -> -inf
        x = np.log(np.array([tiny, 2 * tiny, 1000 * tiny, 0.4 * tiny], np.float64)).astype(dtype)
    np.testing.assert_allclose(mathfn("exp", x), np.exp(x.astype(np.float64)).astype(dtype), rtol=0, atol=tiny)


def erf_inputs(dtype):
    rng = np.random.default_rng(11)
    tiny = np.finfo(dtype).smallest_subnormal
    parts = [np.linspace(-6.0, 6.0, 600_001),                  # the whole curved part, densely
             rng.standard_normal(20_000) * 1e-3, rng.standard_normal(20_000) * 1e-20,
             np.geomspace(1e-38, 1e3, 2_000), -np.geomspace(1e-38, 1e3, 2_000),
             [0.875, -0.875, 3.92, -3.92, 3.9192, 1e30, -1e30, tiny, -tiny, 3 * tiny,
              np.finfo(dtype).max, -np.finfo(dtype).max]]
    return np.concatenate(parts).astype(dtype)


def test_erf_ulps(dtype):
    # truth: math.erf in double, then rounded; float32 gets the vectorised polynomial (< 2 ulp,
    # measured 1.02), float64 is libm's erf (<= 1 ulp against math.erf, which is also libm's)
    x = erf_inputs(dtype)
    ref = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(np.float64)
    got = mathfn("erf", x)
    rounded = ref.astype(dtype)
    step = np.maximum(np.spacing(np.abs(rounded)), np.spacing(dtype(0))).astype(np.float64)
    ulps = np.abs(got.astype(np.float64) - ref) / step
    worst = int(np.argmax(ulps))
    assert ulps[worst] <= 2, f"erf({x[worst]!r}) = {got[worst]!r}, want {ref[worst]!r}: {ulps[worst]:.2f} ulp"
    assert np.all(np.abs(got) <= 1)
    np.testing.assert_array_equal(got, -mathfn("erf", -x))     # odd, exactly


def test_erf_special_values(dtype):
    inf, nan = np.inf, np.nan
    x = np.array([-inf, inf, nan, -0.0, 0.0, 6.5, -6.5, 1e4, -1e4], dtype)
    got = mathfn("erf", x)
    np.testing.assert_array_equal(got, [-1, 1, nan, 0, 0, 1, -1, 1, -1])
    assert np.signbit(got[3]) and not np.signbit(got[4])       # erf(-0) = -0
