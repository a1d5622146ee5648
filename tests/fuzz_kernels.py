"""Mutation fuzzer for fastnn's public API: fastnn.functional (compiled vs fastnn.reference),
fastnn.nn and fastnn.optim (compiled backend vs reference backend). Run by test_fuzz.py in a
subprocess, so that a crash is a test failure.

    python tests/fuzz_kernels.py SEED [--functional N] [--nn N] [--optim N]
    python tests/fuzz_kernels.py SEED --part functional --case I     # replay one case, verbose

Each case starts from a VALID call (tests/fuzz_specs.py: random small shapes, both dtypes, every
option) and applies 0-2 mutations (MUTATIONS below): wrong shapes, wrong / mixed dtypes,
zero-size axes, huge sizes (2**31, 2**62, 10**19, and zero-stride views of 2**40 rows),
zero/negative sizes, NaN/Inf, Fortran / strided / transposed / negative-stride / broadcast /
read-only / misaligned / byte-swapped arrays, Python scalars, lists, tuples and None in place of
arrays, and for backward calls a ctx from another function, dtype or backend.

The oracle, for every case:
  * the call returns, or raises TypeError, ValueError or MemoryError with a message (anything
    else - or a crash - is a failure);
  * the compiled and reference calls agree: both raise (the same type, up to ALLOWED_DIFF) or
    both return, and when they return on finite inputs the results match within conftest's TOL;
  * no input array is written, except the documented in-place arguments (fuzz_specs.INPLACE),
    which must then hold the same values on both backends.
Every failure prints one UNEXPECTED line with the reproducer; the exit status is 1 if any.
Case I of part P with seed S depends on (S, P, I) only, so one case replays alone.
"""
import inspect
import math
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if str(HERE.parent) not in sys.path:      # run as a script from anywhere: the in-tree fastnn
    sys.path.insert(0, str(HERE.parent))

import fastnn                                             # noqa: E402
from fastnn import functional as F, reference as R       # noqa: E402
from fastnn import nn, optim                              # noqa: E402
from conftest import assert_close                        # noqa: E402
import fuzz_specs as S                                    # noqa: E402

OK_ERRORS = (TypeError, ValueError, MemoryError)
HUGE_INTS = [2**31, 2**32 + 1, 2**62, 2**63 - 1, 10**19, -10**19, -2**31]
BIG_ROWS = 2**40     # rows of a zero-stride view: far more bytes than any machine has


# ------------------------------------------------------------------------------- mutations
# Each mutation takes (rng, value) and returns the new value, or raises _NotApplicable.

class _NotApplicable(Exception):
    pass


class Ctx:
    """A ctx argument: the ctx returned by running ``call`` (a forward) on the backend under
    test ("same") or on the other one ("other")."""
    __slots__ = ("call", "backend")

    def __init__(self, call, backend="same"):
        self.call, self.backend = call, backend

    def __repr__(self):
        return f"Ctx({self.call.name}, {self.backend})"


def _float_array(v):
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "fi" or v.dtype == object:
        raise _NotApplicable
    return v


def _nd(v, lo=1):
    _float_array(v)
    if v.ndim < lo:
        raise _NotApplicable
    return v


def m_shape_plus(rng, v):
    _nd(v)
    ax = int(rng.integers(v.ndim))
    shape = list(v.shape)
    shape[ax] += 1
    return np.resize(v, shape).astype(v.dtype)


def m_shape_minus(rng, v):
    _nd(v)
    ax = int(rng.integers(v.ndim))
    if v.shape[ax] < 2:
        raise _NotApplicable
    return np.ascontiguousarray(np.take(v, range(v.shape[ax] - 1), axis=ax))


def m_swap_axes(rng, v):
    _nd(v, 2)
    a, b = rng.choice(v.ndim, 2, replace=False)
    if v.shape[a] == v.shape[b]:
        raise _NotApplicable
    return np.ascontiguousarray(np.swapaxes(v, a, b))


def m_extra_axis(rng, v):
    _float_array(v)
    return np.ascontiguousarray(np.expand_dims(v, int(rng.integers(v.ndim + 1))))


def m_extra_axis_2(rng, v):
    _float_array(v)
    return np.ascontiguousarray(np.stack([v, v], axis=int(rng.integers(v.ndim + 1))))


def m_drop_axis(rng, v):
    _nd(v)
    if not v.size:
        raise _NotApplicable
    return np.ascontiguousarray(np.take(v, 0, axis=int(rng.integers(v.ndim))))


def m_zero_axis(rng, v):
    _nd(v)
    return np.ascontiguousarray(np.take(v, [], axis=int(rng.integers(v.ndim))))


def _astype(dt):
    def m(rng, v):
        _float_array(v)
        if dt is object:
            out = np.empty(v.shape, object)
            out[...] = v if v.size and rng.random() < 0.5 else None
            return out
        return v.astype(dt)
    m.__name__ = f"m_dtype_{np.dtype(dt).name}"
    return m


def m_other_float(rng, v):
    _float_array(v)
    if v.dtype == np.float32:
        return v.astype(np.float64)
    if v.dtype == np.float64:
        return v.astype(np.float32)
    raise _NotApplicable


def m_fortran(rng, v):
    _nd(v, 2)
    return np.asfortranarray(v)


def m_strided(rng, v):
    _nd(v)
    big = np.zeros(v.shape[:-1] + (2 * v.shape[-1] + 1,), v.dtype)
    view = big[..., 1::2]
    view[...] = v
    return view


def m_transposed(rng, v):
    _nd(v, 2)
    perm = rng.permutation(v.ndim)
    base = np.ascontiguousarray(v.transpose(perm))
    return base.transpose(np.argsort(perm))          # v's shape and values, permuted strides


def m_negative_stride(rng, v):
    _nd(v)
    ax = int(rng.integers(v.ndim))
    base = np.ascontiguousarray(np.flip(v, ax))
    return np.flip(base, ax)                         # same values, a negative stride


def m_broadcast(rng, v):
    _nd(v)
    ax = int(rng.integers(v.ndim))
    if not v.shape[ax]:
        raise _NotApplicable
    return np.broadcast_to(np.take(v, [0], axis=ax), v.shape)   # zero stride, read-only


def m_readonly(rng, v):
    _float_array(v)
    c = v.copy()
    c.setflags(write=False)
    return c


def m_misaligned(rng, v):
    _float_array(v)
    buf = np.zeros(v.nbytes + 1, np.uint8)
    out = np.ndarray(v.shape, v.dtype, buffer=buf, offset=1)      # writeable misaligned view
    out[...] = v
    return out


def m_byteswapped(rng, v):
    _float_array(v)
    return v.astype(v.dtype.newbyteorder())


def _poison(value):
    def m(rng, v):
        _float_array(v)
        if v.dtype.kind != "f" or not v.size:
            raise _NotApplicable
        c = v.copy()
        c.flat[int(rng.integers(v.size))] = value
        return c
    m.__name__ = f"m_value_{value}"
    return m


def m_bad_index(rng, v):
    if not isinstance(v, np.ndarray) or v.dtype.kind != "i" or not v.size:
        raise _NotApplicable
    c = v.copy()
    c.flat[int(rng.integers(v.size))] = pick(rng, [-1, -7, 1000, 2**40, -2**63])
    return c


def m_huge_view(rng, v):
    """A read-only zero-stride view with 2**40 rows in place of axis 0: it must be rejected (or
    raise MemoryError) before anything of its size is allocated."""
    _nd(v)
    if not v.size:
        raise _NotApplicable
    first = np.ascontiguousarray(np.take(v, [0], axis=0))
    return np.lib.stride_tricks.as_strided(first, (BIG_ROWS,) + v.shape[1:],
                                           (0,) + first.strides[1:], writeable=False)


def m_list(rng, v):
    _float_array(v)
    return v.tolist()


def m_tuple(rng, v):
    _nd(v)
    return tuple(v.reshape(-1).tolist())


def m_pyscalar(rng, v):
    _float_array(v)
    return float(v.flat[0]) if v.size else 0.5


def m_zero_d(rng, v):
    _float_array(v)
    return np.asarray(v.flat[0] if v.size else 0, v.dtype)


def m_none(rng, v):
    if v is None:
        raise _NotApplicable
    return None


def pick(rng, values):
    return values[int(rng.integers(len(values)))]


# mutations of Python values (options, sizes, hyperparameters)

def m_int(rng, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise _NotApplicable
    return pick(rng, [0, -1, -3, 2.0, 2.5, float("nan"), "3", True, np.int32(v), np.uint64(3), 1j]
                + HUGE_INTS)


def m_int_huge(rng, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise _NotApplicable
    return pick(rng, HUGE_INTS)


def m_pair(rng, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer, tuple)) or (
            isinstance(v, tuple) and not all(isinstance(e, (int, np.integer)) for e in v)):
        raise _NotApplicable
    a = v if isinstance(v, (int, np.integer)) else v[0]
    return pick(rng, [(a,), (a, a, a), (a, -1), (0, a), (a, 2**62), (2**31, 2**31), [a, a],
                      (a, 1.5), (a, None), (10**19, a), np.array([a, a]), "ab"])


def m_float(rng, v):
    if isinstance(v, bool) or not isinstance(v, float):
        raise _NotApplicable
    return pick(rng, [-abs(v) - 0.5, float("nan"), float("inf"), -float("inf"), 1e308, "0.1",
                      None, 1j, np.float32(v), [v], True, 10**19, 2.0])


def m_str(rng, v):
    if not isinstance(v, str):
        raise _NotApplicable
    return pick(rng, ["", v.upper(), "bogus", None, 1, v.encode(), (v,), v + " "])


def m_bool(rng, v):
    if not isinstance(v, bool):
        raise _NotApplicable
    return pick(rng, [None, "yes", 2, np.bool_(not v), [v], 0.5, np.array([True, False])])


def m_replace_none(rng, v):
    """An absent optional argument (None) given as something else."""
    if v is not None:
        raise _NotApplicable
    return pick(rng, [np.zeros((2, 3), np.float32), np.ones(3), 0, "x", 1.5, np.zeros(0, np.float64),
                      np.ones((1,), np.int64)])


def m_tuple_elem(rng, v):
    """A tuple argument (rnn dstate, normalized_shape) with one element mutated or its length
    changed."""
    if not isinstance(v, tuple) or not v:
        raise _NotApplicable
    if rng.random() < 0.3:
        return v[:-1] if rng.random() < 0.5 else v + (v[0],)
    i = int(rng.integers(len(v)))
    e = v[i]
    muts = [m for m in (ARRAY_MUTATIONS if isinstance(e, np.ndarray) else SCALAR_MUTATIONS)]
    for _ in range(4):
        try:
            return v[:i] + (pick(rng, muts)(rng, e),) + v[i + 1:]
        except _NotApplicable:
            continue
    raise _NotApplicable


def m_rng(rng, v):
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool)):
        raise _NotApplicable
    return pick(rng, [-1, "seed", 1.5, None, np.random.default_rng(int(v)), 2**70, True])


ARRAY_MUTATIONS = [
    m_shape_plus, m_shape_minus, m_swap_axes, m_extra_axis, m_extra_axis_2, m_drop_axis,
    m_zero_axis, m_zero_axis,
    _astype(np.int32), _astype(np.int64), _astype(np.float16), _astype(np.complex64),
    _astype(bool), _astype(object), m_other_float, m_other_float,
    m_fortran, m_strided, m_transposed, m_negative_stride, m_broadcast, m_readonly,
    m_misaligned, m_misaligned, m_byteswapped, m_huge_view,
    _poison(float("nan")), _poison(float("inf")), _poison(-float("inf")), m_bad_index, m_bad_index,
    m_list, m_tuple, m_pyscalar, m_zero_d, m_none,
]
SCALAR_MUTATIONS = [m_int, m_int_huge, m_pair, m_float, m_str, m_bool, m_replace_none,
                    m_tuple_elem]
# results on these inputs are not compared (NaN / Inf propagate by each kernel's own rules)
NONFINITE = {"m_value_nan", "m_value_inf", "m_value_-inf"}
# inputs that hold the same values as the valid call (a result must match the reference)
SAME_VALUES = {"m_fortran", "m_strided", "m_transposed", "m_negative_stride", "m_readonly",
               "m_misaligned", "m_byteswapped"}


def mutate_value(rng, value, name):
    """(new value, mutation name) for one argument; None when nothing applies."""
    if name == "rng":
        pool = [m_rng]
    elif isinstance(value, np.ndarray):
        pool = ARRAY_MUTATIONS
    else:
        pool = SCALAR_MUTATIONS
    for _ in range(6):
        m = pick(rng, pool)
        if isinstance(value, np.ndarray) and value.size > 10**7:
            return None                  # a huge zero-stride view stays as it is
        try:
            return m(rng, value), m.__name__
        except Exception:                # _NotApplicable, or a value the mutation cannot make
            continue
    return None


# ------------------------------------------------------------------------------- checking

def snapshot(value, out):
    """(array, copy) for every plain-memory ndarray inside value (tuples/lists walked)."""
    if isinstance(value, np.ndarray):
        if value.dtype != object and value.size * value.itemsize < 10**7:
            out.append((value, value.copy()))
    elif isinstance(value, (tuple, list)):
        for v in value:
            snapshot(v, out)
    elif isinstance(value, Ctx):
        for v in value.call.kwargs.values():
            snapshot(v, out)
    return out


def changed(snaps):
    return [i for i, (a, c) in enumerate(snaps)
            if a.shape != c.shape or a.tobytes() != c.tobytes()]


def compare(a, b, what, approx=True, native=True):
    """Recursive parity of two results (tuples of arrays / None / numbers; ctx objects skipped)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        assert isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b), \
            f"{what}: result structure {type(a).__name__} vs {type(b).__name__}"
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, f"{what}[{i}]", approx, native)
        return
    if a is None or b is None:
        assert a is None and b is None, f"{what}: {type(a).__name__} vs {type(b).__name__}"
        return
    if isinstance(a, (np.ndarray, float, int, np.generic)):
        assert isinstance(b, (np.ndarray, float, int, np.generic)), f"{what}: array vs {type(b).__name__}"
        a, b = np.asarray(a), np.asarray(b)
        if a.size > 10**7 or b.size > 10**7:
            return                        # a huge zero-stride view passed through (Identity)
        if not b.dtype.isnative:          # allowed: numpy twins may keep a byte-swapped input's
            b = b.astype(b.dtype.newbyteorder("="))      # byte order in their result
        if native:
            assert a.dtype.isnative, f"{what}: compiled result has byte order {a.dtype}"
        elif not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        if a.dtype.type not in (np.float32, np.float64):   # ints, bools, and float16 passed through
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), \
                f"{what}: {a!r} vs {b!r}"
            return
        if a.dtype.kind != "f":
            assert a.dtype == b.dtype and np.array_equal(a, b), f"{what}: {a} vs {b}"
            return
        assert_close(a, b, what=what, approx=approx)
        return
    # ctx objects (and anything else) are not compared


class Report:
    def __init__(self, seed):
        import collections
        self.seed, self.unexpected = seed, 0
        self.stats = collections.Counter()      # (part, outcome) -> calls judged
        self.unnamed = collections.Counter()    # error messages that do not name the bad argument

    def fail(self, part, idx, where, muts, msg):
        self.unexpected += 1
        line = (f"UNEXPECTED {where} seed={self.seed} part={part} case={idx} mutations={muts}: {msg}\n"
                f"    reproduce: python tests/fuzz_kernels.py {self.seed} --part {part} --case {idx}")
        print(line, flush=True)


# --------------------------------------------------------------- exception-type differences
# (function, compiled exception, reference exception) pairs that are legitimate, with the reason.
ALLOWED_DIFF = {
    # numpy cannot allocate what a huge size asks for (MemoryError), where the binding's overflow
    # check names the size first (ValueError); either is a clean refusal
    ("*", "ValueError", "MemoryError"): "huge size: checked (ValueError) vs numpy's allocation",
    ("*", "MemoryError", "ValueError"): "huge size: numpy's 'array is too big' vs allocation",
}


# one backend raised MemoryError and the other returned: legitimate only for a huge
# zero-stride view, which the binding copies to a contiguous array (MemoryError) while numpy
# can index it lazily (embedding_forward's weight[indices]), or the other way round
ALLOWED_ONE_SIDED_MEMORY = {"m_huge_view"}


def _allowed(name, ce, re):
    for key in ((name, ce, re), ("*", ce, re)):
        if key in ALLOWED_DIFF:
            return True
    return False


def outcome(fn, kwargs):
    try:
        return "ok", fn(**kwargs)
    except Exception as err:                               # noqa: BLE001 - classified below
        return "raise", err


def check_error(err):
    """'' if err is an allowed exception with a message, else what is wrong with it."""
    if not isinstance(err, OK_ERRORS):
        return f"{type(err).__name__}: {err}"
    if not str(err) and not isinstance(err, MemoryError):
        return f"{type(err).__name__} with an empty message"
    return ""


# ------------------------------------------------------------------------ functional cases

NAMES = sorted(S.SPECS)
# functions with an out= buffer (keyword-only): some of their cases pass one, good or bad
HAS_OUT = {n for n in NAMES if "out" in inspect.signature(getattr(F, n)).parameters}
OUT_KINDS = ["exact", "exact", "wrong_dtype", "int_dtype", "shape_plus", "extra_axis", "readonly",
             "misaligned", "strided", "fortran", "byteswapped", "alias_input", "list", "zero_d"]


class Out:
    """An out= argument, made at call time from the result's shape and dtype (known only once
    the call without out= has run on that backend)."""
    __slots__ = ("kind",)

    def __init__(self, kind):
        self.kind = kind

    def __repr__(self):
        return f"Out({self.kind})"


def make_out(kind, shape, dtype, inputs):
    """The out buffer of `kind` for a result of (shape, dtype); None when the kind cannot apply."""
    dtype = np.dtype(dtype).newbyteorder("=").type   # the reference may keep a swapped input's order
    other = np.float64 if dtype == np.float32 else np.float32
    if kind == "exact":
        return np.full(shape, np.nan, dtype)
    if kind == "wrong_dtype":
        return np.zeros(shape, other)
    if kind == "int_dtype":
        return np.zeros(shape, np.int64)
    if kind == "shape_plus":
        return np.zeros(shape[:-1] + (shape[-1] + 1,), dtype) if shape else np.zeros(1, dtype)
    if kind == "extra_axis":
        return np.zeros((1,) + shape, dtype)
    if kind == "readonly":
        a = np.zeros(shape, dtype)
        a.setflags(write=False)
        return a
    if kind == "misaligned":
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if n == 0:
            return None
        return np.frombuffer(bytearray(n + 1), dtype, offset=1).reshape(shape)
    if kind == "strided":
        if not shape or shape[-1] < 1:
            return None
        return np.zeros(shape[:-1] + (2 * shape[-1],), dtype)[..., ::2]
    if kind == "fortran":
        return np.zeros(shape, dtype, order="F")       # C-contiguous too when ndim < 2
    if kind == "byteswapped":
        return np.zeros(shape, np.dtype(dtype).newbyteorder())
    if kind == "alias_input":
        same = [v for v in inputs if isinstance(v, np.ndarray) and v.shape == shape and v.dtype == dtype
                and v.flags.c_contiguous and v.flags.writeable and v.size]
        return same[0] if same else None
    if kind == "list":
        return np.zeros(shape, dtype).tolist()
    if kind == "zero_d":
        return np.zeros((), dtype)
    raise AssertionError(kind)


def build_functional(seed, idx):
    rng = np.random.default_rng([seed, 0, idx])
    name = NAMES[int(rng.integers(len(NAMES)))]
    dt = pick(rng, [np.float32, np.float64])
    call = S.SPECS[name](rng, dt)
    if call.forward is not None:
        call.kwargs = {k: (Ctx(call.forward) if v is S.CTX else v) for k, v in call.kwargs.items()}
    muts = []
    n_mut = pick(rng, [0, 1, 1, 1, 2, 2])
    if name in HAS_OUT and rng.random() < 0.3:
        kind = pick(rng, OUT_KINDS)
        call.kwargs["out"] = Out(kind)
        muts.append(f"out:{kind}")
        n_mut = min(n_mut, 1)
    for _ in range(n_mut):
        arg = pick(rng, [k for k in call.kwargs if k != "out"])
        v = call.kwargs[arg]
        if isinstance(v, Ctx):
            kind = pick(rng, ["other_fn", "other_dtype", "other_backend", "none", "object"])
            if kind == "other_fn":
                other = pick(rng, [n for n in NAMES if n.endswith("_backward") and n != name])
                nv = Ctx(S.SPECS[S.fwd_of(other)](rng, dt))
            elif kind == "other_dtype":
                nv = Ctx(S.SPECS[call.forward.name](rng, np.float64 if dt == np.float32 else np.float32))
            elif kind == "other_backend":
                nv = Ctx(v.call, "other")
            else:
                nv = None if kind == "none" else object()
            call.kwargs[arg] = nv
            muts.append(f"{arg}:ctx_{kind}")
            continue
        r = mutate_value(rng, v, arg)
        if r is not None:
            call.kwargs[arg] = r[0]
            muts.append(f"{arg}:{r[1]}")
    return name, dt, call, muts


def run_functional(B, other, call):
    """(status, result or exception, snapshots, in-place arrays) of call on backend B."""
    kwargs = dict(call.kwargs)
    for k, v in kwargs.items():
        if isinstance(v, Ctx):
            fb = B if v.backend == "same" else other
            st, res = outcome(getattr(fb, v.call.name), v.call.kwargs)
            if st != "ok":
                raise RuntimeError(f"the valid forward {v.call.name} raised {type(res).__name__}: {res}")
            kwargs[k] = res[-1]
    out = kwargs.get("out")
    if isinstance(out, Out):
        plain = {k: v for k, v in kwargs.items() if k != "out"}
        st, res = outcome(getattr(B, call.name), plain)
        y = res[0] if st == "ok" and isinstance(res, tuple) else res if st == "ok" else None
        if not isinstance(y, np.ndarray):
            del kwargs["out"]              # the call fails without out=: nothing to size it by
        else:
            buf = make_out(out.kind, y.shape, y.dtype, list(plain.values()))
            kwargs["out"] = buf if buf is not None else make_out("exact", y.shape, y.dtype, [])
    inplace = S.INPLACE.get(call.name, set())
    snaps = []
    for k, v in kwargs.items():
        if k not in inplace and k != "out" and not isinstance(v, Ctx):
            snapshot(v, snaps)
    for v in call.kwargs.values():
        if isinstance(v, Ctx):
            snapshot(v, snaps)
    if isinstance(kwargs.get("out"), np.ndarray) and any(kwargs["out"] is a for a, _ in snaps):
        snaps = [(a, c) for a, c in snaps if a is not kwargs["out"]]    # aliased: may be refused
    st, res = outcome(getattr(B, call.name), kwargs)
    if st == "ok" and isinstance(kwargs.get("out"), np.ndarray):
        y = res[0] if isinstance(res, tuple) else res
        if y is not kwargs["out"]:
            raise RuntimeError(f"{call.name} with out= returned a new array, not out")
    if st == "ok" and isinstance(out, Out) and out.kind == "alias_input" and "out" in kwargs \
            and any(kwargs["out"] is v for k, v in kwargs.items() if k != "out"):
        raise RuntimeError(f"{call.name} accepted an out= that is one of its inputs")
    return st, res, snaps, {k: call.kwargs[k] for k in inplace if isinstance(call.kwargs.get(k), np.ndarray)}


def functional_case(rep, seed, idx, verbose=False):
    name, dt, call_c, muts = build_functional(seed, idx)
    _, _, call_r, _ = build_functional(seed, idx)
    where = name
    if verbose:
        print(f"{name} {np.dtype(dt).name} mutations={muts}")
        for k, v in call_c.kwargs.items():
            print(f"    {k} = {_describe(v)}")
    try:
        sc, rc, snaps_c, inpl_c = run_functional(F, R, call_c)
        if sc == "raise" and any(m.endswith(":m_huge_view") for m in muts):
            return       # numpy would happily loop over the 2**40 rows of the view for hours
        sr, rr, snaps_r, inpl_r = run_functional(R, F, call_r)
    except RuntimeError as err:
        rep.fail("functional", idx, where, muts, str(err))
        return
    if verbose:
        print(f"    compiled: {sc} {rc if sc == 'raise' else ''!r}\n    reference: {sr} {rr if sr == 'raise' else ''!r}")
    for backend, snaps in (("compiled", snaps_c), ("reference", snaps_r)):
        bad = changed(snaps)
        if bad:
            rep.fail("functional", idx, where, muts, f"{backend} call wrote into an input array")
    judge(rep, "functional", idx, where, muts, name, sc, rc, sr, rr)
    if sc == "raise" and len(muts) == 1 and not muts[0].startswith("ctx:"):
        arg = muts[0].split(":")[0]
        if arg not in str(rc) and not isinstance(rc, MemoryError):
            rep.unnamed[(name, arg, type(rc).__name__, str(rc)[:90])] += 1
    if sc == sr == "ok" and comparable(muts, call_c):
        op = name.rsplit("_", 1)[0]
        try:
            compare(rc, rr, f"{name} result", approx=True)
            for k in inpl_c:
                compare(inpl_c[k], inpl_r[k], f"{name} in-place {k}", approx=True)
        except AssertionError as err:
            rep.fail("functional", idx, where, muts, f"compiled != reference: {str(err)[:600]}")


def comparable(muts, call):
    if any(m.split(":")[1] in NONFINITE for m in muts):
        return False
    if any(isinstance(v, float) and not (math.isfinite(v) and abs(v) < 1e30) for v in call.kwargs.values()):
        return False      # inf, nan, or beyond float32's range (1e308 * 0 is NaN in float32)
    ctx = call.kwargs.get("ctx")
    if call.name == "layer_norm_backward" and isinstance(ctx, Ctx) and ctx.call.name == "layer_norm_forward" \
            and ctx.call.kwargs["x"].dtype == np.float32 and _ln_size(ctx.call) == 1:
        # one normalised element: the exact gradient is 0, and the binding's float32 pass leaves
        # rounding of dy's size times rstd = 1/sqrt(eps) ~ 316, beyond the table's atol for 0
        return False
    if call.name.startswith("dropout_forward") and not isinstance(call.kwargs.get("rng"), (int, np.integer)):
        return False
    return True


def _ln_size(fcall):
    ns = fcall.kwargs.get("normalized_shape")
    if ns is None:
        return fcall.kwargs["x"].shape[-1]
    return int(np.prod(ns)) if isinstance(ns, tuple) else ns


def judge(rep, part, idx, where, muts, name, sc, rc, sr, rr):
    rep.stats[(part, "both returned" if sc == sr == "ok" else "both raised" if sc == sr else "differ")] += 1
    if sc == "raise":
        bad = check_error(rc)
        if bad:
            rep.fail(part, idx, where, muts, f"compiled raised {bad}")
    if sr == "raise":
        bad = check_error(rr)
        if bad:
            rep.fail(part, idx, where, muts, f"reference raised {bad}")
    if sc != sr:
        err = rc if sc == "raise" else rr
        if isinstance(err, MemoryError) and any(m.split(":")[-1] in ALLOWED_ONE_SIDED_MEMORY for m in muts):
            return
        who = "compiled" if sc == "raise" else "reference"
        rep.fail(part, idx, where, muts, f"only the {who} raised ({type(err).__name__}: {str(err)[:300]})")
    elif sc == "raise" and type(rc) is not type(rr) and not _allowed(name, type(rc).__name__, type(rr).__name__) \
            and not order_dependent(muts, rc, rr):
        rep.fail(part, idx, where, muts, f"exception types differ: compiled {type(rc).__name__}: "
                 f"{str(rc)[:200]} / reference {type(rr).__name__}: {str(rr)[:200]}")


def order_dependent(muts, rc, rr):
    """Two bad arguments, or a huge view the binding copies (MemoryError) before it looks at the
    others: which problem is reported first depends on the order of the checks, which the two
    backends need not share. Both must still be clean refusals (checked by judge)."""
    if len({m.split(":")[0] for m in muts}) >= 2:
        return True
    return any(m.endswith(":m_huge_view") for m in muts) and (isinstance(rc, MemoryError) or isinstance(rr, MemoryError))


def _describe(v):
    if isinstance(v, np.ndarray):
        f = v.flags
        return (f"ndarray{v.shape} {v.dtype} strides={v.strides} C={f.c_contiguous} "
                f"W={f.writeable} aligned={f.aligned}")
    if isinstance(v, Ctx):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return type(v).__name__ + "[" + ", ".join(_describe(e) for e in v[:4]) + (", ..." if len(v) > 4 else "") + "]"
    return repr(v)[:80]


# ------------------------------------------------------------------------------- nn cases

NN_NAMES = sorted(S.NN_SPECS) + ["Sequential", "Parameter", "manual_seed"]


def build_nn(seed, idx):
    rng = np.random.default_rng([seed, 1, idx])
    name = NN_NAMES[int(rng.integers(len(NN_NAMES)))]
    dt = pick(rng, [np.float32, np.float64])
    muts = []
    if name == "Sequential":
        i, h, o = S.dim(rng), S.dim(rng), S.dim(rng)
        act = pick(rng, ["ReLU", "Sigmoid", "Tanh", "GELU"])
        ctor = dict(in_features=i, hidden=h, out=o, act=act, seed=S._seed(rng), dtype=dt)
        inputs = [S.arr(rng, (S.dim(rng), i), dt)]
    elif name in ("Parameter", "manual_seed"):
        ctor, inputs = ({"data": S.arr(rng, S.rand_shape(rng), dt)} if name == "Parameter"
                        else {"seed": int(rng.integers(2**32))}), []
    else:
        ctor, inputs = S.NN_SPECS[name](rng, dt)
    if ctor and name != "Sequential" and rng.random() < 0.35:
        arg = pick(rng, list(ctor))
        r = mutate_value(rng, ctor[arg], arg) if arg != "dtype" else \
            (pick(rng, [np.int32, "float16", None, "bogus", complex]), "m_dtype")
        if r is not None:
            if arg not in ("dtype", "rng") and isinstance(ctor[arg], (int, np.integer)) and rng.random() < 0.3:
                r = (pick(rng, [2**40, 2**62, 10**19, -1, 0]), "m_int_huge")   # sizes: never 2**31 (8 GB)
            v = r[0]
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 2**24 < abs(int(v)) < 2**40:
                v = 2**40       # a size that would allocate GBs yet fit in memory is not a bad input
            ctor[arg] = v
            muts.append(f"ctor.{arg}:{r[1]}")
    fwd_muts = []
    for i, x in enumerate(inputs):
        if rng.random() < 0.5:
            r = mutate_value(rng, x, "input")
            if r is not None:
                inputs[i] = r[0]
                fwd_muts.append(f"input{i}:{r[1]}")
    return name, dt, ctor, inputs, muts + fwd_muts, rng


def make_layer(name, ctor):
    if name == "Sequential":
        c = ctor
        return nn.Sequential(nn.Linear(c["in_features"], c["hidden"], dtype=c["dtype"], rng=c["seed"]),
                             getattr(nn, c["act"])(),
                             nn.Linear(c["hidden"], c["out"], dtype=c["dtype"], rng=c["seed"] + 1))
    return getattr(nn, name)(**ctor)


def _grads(layer):
    if not isinstance(layer, nn.Module):
        return ()
    return tuple(p.grad for p in layer.parameters())


def nn_case(rep, seed, idx, verbose=False):
    name, dt, ctor_c, in_c, muts, rng_c = build_nn(seed, idx)
    _, _, ctor_r, in_r, _, rng_r = build_nn(seed, idx)
    where = f"nn.{name}"
    if verbose:
        print(f"{where} ctor={ctor_c} inputs={[_describe(x) for x in in_c]} mutations={muts}")
    if name == "Parameter":
        snaps = snapshot(ctor_c["data"], [])
        st, res = outcome(nn.Parameter, ctor_c)
        if st == "raise" and check_error(res):
            rep.fail("nn", idx, where, muts, f"raised {check_error(res)}")
        if changed(snaps):
            rep.fail("nn", idx, where, muts, "Parameter() wrote into its data argument")
        return
    if name == "manual_seed":
        st, res = outcome(nn.manual_seed, ctor_c)
        if st == "raise" and check_error(res):
            rep.fail("nn", idx, where, muts, f"raised {check_error(res)}")
        return
    # construct both twins
    outs = []
    for ctor in (ctor_c, ctor_r):
        try:
            outs.append(("ok", make_layer(name, ctor)))
        except NotImplementedError as err:     # documented: torch options fastnn lacks
            outs.append(("raise", ValueError(f"NotImplementedError: {err}")))
        except Exception as err:               # noqa: BLE001
            outs.append(("raise", err))
    (sc, lc), (sr, lr) = outs
    judge(rep, "nn", idx, where + "()", muts, name, sc, lc, sr, lr)
    if sc != "ok" or sr != "ok":
        return
    # forward: compiled backend vs reference backend
    snaps = snapshot(list(in_c), [])
    sc, yc = outcome(lambda: lc(*in_c), {})
    if sc == "raise" and any(m.endswith(":m_huge_view") for m in muts):
        if check_error(yc):
            rep.fail("nn", idx, where + ".forward", muts, f"raised {check_error(yc)}")
        return                            # numpy would loop over the view's 2**40 rows
    with fastnn.use_backend("reference"):
        sr, yr = outcome(lambda: lr(*in_r), {})
    if changed(snaps):
        rep.fail("nn", idx, where + ".forward", muts, "forward wrote into its input")
    judge(rep, "nn", idx, where + ".forward", muts, name, sc, yc, sr, yr)
    # (a mutated rng makes the twins' weights or masks differ: nothing to compare then)
    cmp_ok = not any(m.split(":")[1] in NONFINITE or m.startswith("ctor.rng") for m in muts)
    if sc != "ok" or sr != "ok":
        return
    if cmp_ok:
        try:
            compare(yc, yr, f"{where} forward", native=False)     # Identity/Flatten pass views through
        except AssertionError as err:
            rep.fail("nn", idx, where + ".forward", muts, f"compiled != reference: {str(err)[:600]}")
            return
    # backward with an upstream gradient of the output's shape, maybe mutated
    if np.size(yc[0] if isinstance(yc, tuple) else yc) > 10**7:
        return                            # a huge view passed through: no dout of its size
    douts = []
    for r in (np.random.default_rng([seed, 2, idx]) for _ in range(2)):
        y = yc[0] if isinstance(yc, tuple) else yc
        d = S.arr(r, np.shape(y), np.asarray(y).dtype)
        m = None
        if r.random() < 0.5:
            mv = mutate_value(r, d, "dout")
            if mv is not None:
                d, m = mv
        douts.append((d, m))
    (dc, m), (dr, _) = douts
    bmuts = muts + ([f"dout:{m}"] if m else [])
    snaps = snapshot([dc] + list(in_c), [])
    sc, gc = outcome(lambda: lc.backward(dc), {})
    with fastnn.use_backend("reference"):
        sr, gr = outcome(lambda: lr.backward(dr), {})
    if changed(snaps):
        rep.fail("nn", idx, where + ".backward", bmuts, "backward wrote into dout or the input")
    judge(rep, "nn", idx, where + ".backward", bmuts, name, sc, gc, sr, gr)
    if sc == sr == "ok" and cmp_ok and not (m and m in NONFINITE):
        try:
            compare(gc, gr, f"{where} backward", native=False)
            compare(_grads(lc), _grads(lr), f"{where} parameter grads")
        except AssertionError as err:
            rep.fail("nn", idx, where + ".backward", bmuts, f"compiled != reference: {str(err)[:600]}")


# ---------------------------------------------------------------------------- optim cases

OPT_NAMES = sorted(S.OPTIM_SPECS)


def build_optim(seed, idx):
    rng = np.random.default_rng([seed, 3, idx])
    name = OPT_NAMES[int(rng.integers(len(OPT_NAMES)))]
    dt = pick(rng, [np.float32, np.float64])
    hyper = S.OPTIM_SPECS[name](rng)
    shapes = [S.rand_shape(rng, 0, 3) for _ in range(int(rng.integers(1, 4)))]
    params = [nn.Parameter(S.arr(rng, s, dt)) for s in shapes]
    grads = [S.arr(rng, s, dt) for s in shapes]
    muts = []
    kind = pick(rng, ["none", "hyper", "hyper", "params", "grad", "grad", "grad"])
    if kind == "hyper":
        arg = pick(rng, list(hyper))
        v = hyper[arg]
        if arg == "betas":
            nv = pick(rng, [(1.0, 0.999), (-0.1, 0.9), (0.9, 1.5), (0.9,), (float("nan"), 0.9), "ab", None])
            r = (nv, "m_betas")
        else:
            r = mutate_value(rng, float(v) if isinstance(v, int) and not isinstance(v, bool) else v, arg)
        if r is not None:
            hyper[arg] = r[0]
            muts.append(f"{arg}:{r[1]}")
    elif kind == "params":
        c = pick(rng, ["empty", "ndarray", "set", "nonparam", "duplicate", "intparam", "none", "dict"])
        muts.append(f"params:{c}")
        if c == "empty":
            params = []
        elif c == "ndarray":
            params = params[0].data
        elif c == "set":
            params = set(params)
        elif c == "nonparam":
            params = params + [pick(rng, [np.zeros(3), 3, "p", None])]
        elif c == "duplicate":
            params = params + [params[0]]
        elif c == "intparam":
            class Fake:
                data, grad = np.arange(3), np.arange(3)
            params = params + [Fake()]
        elif c == "none":
            params = None
        else:
            params = [{"lr": 0.1}]
    elif kind == "grad":
        i = int(rng.integers(len(grads)))
        r = mutate_value(rng, grads[i], "grad")
        if r is not None:
            grads[i] = r[0]
            muts.append(f"grad{i}:{r[1]}")
    return name, hyper, params, grads, muts


def optim_case(rep, seed, idx, verbose=False):
    name, hyper_c, params_c, grads_c, muts = build_optim(seed, idx)
    _, hyper_r, params_r, grads_r, _ = build_optim(seed, idx)
    where = f"optim.{name}"
    if verbose:
        print(f"{where} hyper={hyper_c} grads={[_describe(g) for g in grads_c]} mutations={muts}")
    sc, oc = outcome(lambda: getattr(optim, name)(params_c, **hyper_c), {})
    sr, orr = outcome(lambda: getattr(optim, name)(params_r, **hyper_r), {})
    judge(rep, "optim", idx, where + "()", muts, name, sc, oc, sr, orr)
    if sc != "ok" or sr != "ok":
        return
    snaps = snapshot(list(grads_c), [])
    results = []
    for opt, grads, backend in ((oc, grads_c, "compiled"), (orr, grads_r, "reference")):
        ps = [p for g in opt.param_groups for p in g["params"]]
        for p, g in zip(ps, grads):
            p._grad = g          # bypass the grad setter's checks: step() must validate grads itself
        with fastnn.use_backend(backend):
            results.append(outcome(lambda: (opt.step(), opt.step()), {}))
        results[-1] = results[-1] + (ps,)
    (sc, ec, pc), (sr, er, pr) = results
    if changed(snaps):
        rep.fail("optim", idx, where + ".step", muts, "step wrote into a gradient")
    judge(rep, "optim", idx, where + ".step", muts, name, sc, ec, sr, er)
    if sc == sr == "ok" and not any(m.split(":")[1] in NONFINITE for m in muts):
        try:
            compare(tuple(p.data for p in pc), tuple(p.data for p in pr), f"{where} params after 2 steps")
        except AssertionError as err:
            rep.fail("optim", idx, where + ".step", muts, f"compiled != reference: {str(err)[:600]}")


# ------------------------------------------------------------------------------- coverage

def check_coverage():
    """Every public name has a spec: a new kernel, layer or optimizer without one fails here."""
    missing = sorted(set(F.__all__) - set(S.SPECS))
    extra = sorted(set(S.SPECS) - set(F.__all__))
    missing_nn = sorted(set(nn.__all__) - set(S.NN_SPECS) - set(S.NN_NOT_LAYERS))
    missing_opt = sorted(set(optim.__all__) - set(S.OPTIM_SPECS) - set(S.OPTIM_NOT_OPTIMIZERS))
    problems = []
    if missing or extra:
        problems.append(f"fastnn.functional names without a fuzz spec: {missing}; specs for no "
                        f"function: {extra}")
    if missing_nn:
        problems.append(f"fastnn.nn names without a fuzz spec: {missing_nn}")
    if missing_opt:
        problems.append(f"fastnn.optim names without a fuzz spec: {missing_opt}")
    return problems


PARTS = {"functional": functional_case, "nn": nn_case, "optim": optim_case}
CURRENT = [None, 0.0]        # (part, case) being run and when it started: for the watchdog
CASE_LIMIT_S = 60


def watchdog(seed):
    """A hang (a kernel looping over a wrapped size, say) becomes a failure with a reproducer."""
    import os
    import threading

    def run():
        while True:
            time.sleep(1)
            cur, t0 = CURRENT
            if cur is not None and time.perf_counter() - t0 > CASE_LIMIT_S:
                print(f"UNEXPECTED hang: {cur[0]} case {cur[1]} ran for more than {CASE_LIMIT_S} s\n"
                      f"    reproduce: python tests/fuzz_kernels.py {seed} --part {cur[0]} --case {cur[1]}",
                      flush=True)
                os._exit(3)
    threading.Thread(target=run, daemon=True).start()


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("seed", type=int)
    ap.add_argument("--functional", type=int, default=7000)
    ap.add_argument("--nn", type=int, default=2000)
    ap.add_argument("--optim", type=int, default=1000)
    ap.add_argument("--part", choices=sorted(PARTS))
    ap.add_argument("--case", type=int)
    ap.add_argument("--messages", action="store_true",
                    help="list error messages that do not name the one mutated argument")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    # a bug that allocates what a huge size asks for gets a MemoryError, not the OOM killer;
    # not under AddressSanitizer, whose shadow memory reserves terabytes of address space (there
    # ASan's own allocator reports a huge allocation instead)
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):
        resource.setrlimit(resource.RLIMIT_AS, (12 * 2**30, resource.RLIM_INFINITY))
    rep = Report(a.seed)
    watchdog(a.seed)
    if a.case is not None:
        PARTS[a.part or "functional"](rep, a.seed, a.case, verbose=True)
        print(f"1 case, {rep.unexpected} unexpected")
        return 1 if rep.unexpected else 0
    for p in check_coverage():
        rep.unexpected += 1
        print("UNEXPECTED coverage: " + p, flush=True)
    total, t0 = 0, time.perf_counter()
    for part, n in (("functional", a.functional), ("nn", a.nn), ("optim", a.optim)):
        t = time.perf_counter()
        for i in range(n):
            CURRENT[:] = [(part, i), time.perf_counter()]
            PARTS[part](rep, a.seed, i)
        total += n
        print(f"{part}: {n} cases in {time.perf_counter() - t:.1f} s", flush=True)
    if a.messages:
        for (fn, arg, et, msg), k in rep.unnamed.most_common():
            print(f"MESSAGE {k:4d} {fn}({arg}=...): {et}: {msg}")
    print("calls judged: " + ", ".join(f"{p} {k}: {v}" for (p, k), v in sorted(rep.stats.items())))
    print(f"{total} cases, {rep.unexpected} unexpected ({time.perf_counter() - t0:.1f} s)")
    return 1 if rep.unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
