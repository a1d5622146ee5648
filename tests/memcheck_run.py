"""A short run of every compiled kernel, for valgrind memcheck (.ci/valgrind.sh runs it).

    python tests/memcheck_run.py [SCALE]

Calls every function of tests/kernel_workload.py (forward + backward of each compiled family,
step for optim, and calls that must raise) on both dtypes: twice on tiny arrays with 1 thread,
once on tiny arrays with 2 threads, then once on arrays SCALE times larger (default 12000) with 2
threads, big enough that most kernels fork their OpenMP threads. Prints one line per family.
Every output array is read element by element (a NaN test whose result decides a branch), so
that an output element a kernel forgot to write is an "uninitialised value" error with its
origin in fastnn. Not a pytest file: valgrind makes it ~50x slower, so it is run on its own.
"""
import sys
import time
from pathlib import Path

import numpy as np

import fastnn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_workload import family_calls  # noqa: E402


def touch(result):
    """Read every element of every array in a (nested) result; count the NaNs."""
    if isinstance(result, np.ndarray):
        return int(np.isnan(result).sum()) if result.dtype.kind == "f" else 0
    if isinstance(result, (tuple, list)):
        return sum(touch(r) for r in result)
    return 0


def main(scale):
    start = time.perf_counter()
    for threads, sc, repeat in ((1, 1, 2), (2, 1, 1), (2, scale, 1)):
        fastnn.set_num_threads(threads)
        for dtype in (np.float32, np.float64):
            for fam, fns in family_calls(dtype, seed=threads, scale=sc).items():
                t = time.perf_counter()
                for _ in range(repeat):
                    for fn in fns:
                        if touch(fn()):
                            print(f"NaN in the output of {fn.__name__}")
                print(f"threads={threads} scale={sc:<5d} {np.dtype(dtype).name:7s} {fam:10s} "
                      f"{len(fns):2d} functions  {time.perf_counter() - t:6.2f} s", flush=True)
    print(f"memcheck_run: done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12000)
