"""Seeded bad-input fuzzer for every compiled forward / step function (run by test_fuzz.py in a
subprocess, so that a crash is reported as a test failure).

    python tests/fuzz_kernels.py SEED CASES

Each case calls one function of fastnn.functional with 1-5 random arguments: arrays of random
rank (0-4), sizes (including 0), dtypes (float32/64 mostly, and int64, int32, float16,
complex64, bool, object), layouts (transposed, strided, read-only, NaN-holding), and Python
values (None, ints, negative ints, floats, strings, tuples, lists, 10**12). Every call must
return or raise TypeError, ValueError or MemoryError. Prints one UNEXPECTED line per other
exception and exits 1 if there was any; a crash kills the process (non-zero exit)."""
import sys
import warnings

import numpy as np

from fastnn import functional as F

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.float16, np.complex64, bool, object]
VALUES = [None, 0, -1, 3, 2.5, "relu", (2, 2), [1.0, 2.0], (0, -1), 10 ** 12]


def random_array(rng):
    kind = int(rng.integers(0, 12))
    shape = tuple(int(rng.choice([0, 1, 2, 3, 5, 7])) for _ in range(int(rng.integers(0, 5))))
    dtype = DTYPES[int(rng.integers(0, len(DTYPES)))] if kind < 3 else DTYPES[int(rng.integers(0, 2))]
    a = np.empty(shape, object) if dtype is object else np.asarray(rng.standard_normal(shape)).astype(dtype)
    if kind == 3 and a.ndim >= 2:
        a = a.T
    elif kind == 4:
        a = a.copy()
        a.setflags(write=False)
    elif kind == 5 and a.size and a.dtype.kind == "f":
        a.flat[0] = np.nan
    elif kind == 6 and a.ndim >= 1:
        a = a[..., ::2]
    return a


def random_argument(rng):
    if rng.integers(0, 10) < 6:
        return random_array(rng)
    return VALUES[int(rng.integers(0, len(VALUES)))]


def main(seed, cases):
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed)
    names = [n for n in F.__all__ if n.endswith(("_forward", "_step")) or n in ("im2col", "col2im")]
    unexpected = 0
    for _ in range(cases):
        name = names[int(rng.integers(0, len(names)))]
        args = [random_argument(rng) for _ in range(int(rng.integers(1, 6)))]
        try:
            getattr(F, name)(*args)
        except (TypeError, ValueError, MemoryError):
            pass
        except Exception as err:   # anything else is a bug: report it and go on
            unexpected += 1
            print(f"UNEXPECTED {name}: {type(err).__name__}: {err}; arguments "
                  f"{[getattr(a, 'shape', a) for a in args]}", flush=True)
    print(f"{cases} cases, {unexpected} unexpected")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
