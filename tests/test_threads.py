"""Threads: the set/get API, OMP_NUM_THREADS, threadpoolctl's view, bitwise-identical results for
1 and 2 threads, and kernels called from several Python threads at once (the GIL is released).

When 1 and 2 threads agree bitwise: fnn_gemm splits C into blocks of rows or of columns, each
one single-threaded OpenBLAS call over the full k (nothing splits k, so no partial sums are added
in a thread-dependent order), and the elementwise epilogues and bias-gradient column sums are
split over disjoint rows/columns. That makes float64 bitwise identical for any split. For
float32, OpenBLAS's kernels round an element differently depending on where the call's column
range starts, so only ROW splits (24-aligned) are bitwise identical; fnn_gemm splits columns
for short-and-wide products (m < 96 * threads and m < n), and there float32 results agree to a
few ulps, checked with the table tolerance (see the findings in csrc/blas.c).
"""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn import functional as F
from conftest import FASTNN_HOME, assert_close

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_threads():
    before = fastnn.get_num_threads()
    yield
    fastnn.set_num_threads(before)


def test_set_get_round_trip(restore_threads):
    for n in (1, 2, 3, 7, np.int64(2)):
        fastnn.set_num_threads(n)
        assert fastnn.get_num_threads() == int(n)


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                     ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_set_num_threads_validation(bad, exc, restore_threads):
    fastnn.set_num_threads(2)
    with pytest.raises(exc, match="n must"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == 2        # a rejected value changes nothing


def _python(code, **env):
    e = dict(os.environ)
    e["PYTHONPATH"] = str(FASTNN_HOME) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(env)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_omp_num_threads_is_honoured():
    code = "import fastnn; print(fastnn.get_num_threads(), fastnn.config()['num_threads'])"
    assert _python(code, OMP_NUM_THREADS="1") == "1 1"
    assert _python(code, OMP_NUM_THREADS="3") == "3 3"
    # an explicit set_num_threads wins over the environment
    assert _python("import fastnn; fastnn.set_num_threads(2); print(fastnn.get_num_threads())",
                   OMP_NUM_THREADS="1") == "2"


def _fastnn_openblas(info):
    """threadpoolctl's entries for fastnn's own OpenBLAS (the scipy-openblas32 wheel's)."""
    return [i for i in info if i["internal_api"] == "openblas" and "scipy_openblas32" in i["filepath"]]


def test_threadpoolctl_sees_fastnn_openblas_and_openmp(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    info = threadpoolctl.threadpool_info()
    ours = _fastnn_openblas(info)
    assert len(ours) == 1
    assert ours[0]["num_threads"] == 1          # fastnn keeps its OpenBLAS single-threaded
    assert any(i["user_api"] == "openmp" for i in info)


def _linear_results(x, w, b, dy, act):
    y, ctx = F.linear_forward(x, w, b, act)
    return (y,) + tuple(g for g in F.linear_backward(dy, ctx) if g is not None)


# shapes large enough to cross fnn_gemm's parallel threshold and the epilogue grain, including
# odd sizes whose split leaves a ragged last block; rows split (m >= n) and columns split (m < n)
SHAPES = [(64, 784, 256), (256, 784, 256), (1031, 300, 70), (37, 513, 1029), (300, 64, 100),
          (200, 50, 500)]


def _rows_split(m, n, threads=2):
    """fnn_gemm's choice (csrc/blas.c): split C's rows, not its columns."""
    return m >= 96 * threads or m >= n


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,fin,fout", SHAPES)
@pytest.mark.parametrize("act", [None, "relu"])
def test_one_and_two_threads_bitwise_identical(n, fin, fout, act, dtype, restore_threads):
    rng = np.random.default_rng(n + fin + fout)
    x = rng.standard_normal((n, fin)).astype(dtype)
    w = rng.standard_normal((fout, fin)).astype(dtype)
    b = rng.standard_normal(fout).astype(dtype)
    dy = rng.standard_normal((n, fout)).astype(dtype)
    fastnn.set_num_threads(1)
    one = _linear_results(x, w, b, dy, act)
    fastnn.set_num_threads(2)
    two = _linear_results(x, w, b, dy, act)
    bitwise = dtype == np.float64 or all(_rows_split(m, k) for m, k in ((n, fout), (n, fin), (fout, fin)))
    for name, a, c in zip(("y", "dx", "dw", "db"), one, two):
        if bitwise:
            assert np.array_equal(a, c), f"{name} differs between 1 and 2 threads"
        else:
            assert_close(c, a, dtype, what=f"{name}, 2 vs 1 threads")


def test_concurrent_python_threads_match_serial(restore_threads):
    fastnn.set_num_threads(2)
    rng = np.random.default_rng(7)
    jobs = []
    for k in range(8):
        n = 64 + 16 * k
        jobs.append((rng.standard_normal((n, 300)).astype(np.float32),
                     rng.standard_normal((200, 300)).astype(np.float32),
                     rng.standard_normal(200).astype(np.float32),
                     rng.standard_normal((n, 200)).astype(np.float32), "relu"))
    serial = [_linear_results(*j) for j in jobs]
    start = threading.Barrier(4)

    def work(j):
        if j < 4:
            start.wait(timeout=30)           # the first four calls really overlap
        return [_linear_results(*jobs[j]) for _ in range(3)]

    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(work, range(len(jobs))))
    for j, reps in enumerate(concurrent):
        for rep in reps:
            for a, c in zip(serial[j], rep):
                assert np.array_equal(a, c), f"job {j} differs when run concurrently"


def test_gil_released_during_kernels(restore_threads):
    """A kernel running in one thread lets another Python thread run meanwhile."""
    fastnn.set_num_threads(1)
    x = np.ones((512, 1024), np.float32)
    w = np.ones((1024, 1024), np.float32)
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        for _ in range(3):
            F.linear_forward(x, w)          # ~ tens of ms each
    finally:
        done.set()
        t.join()
    assert len(ticks) > 3


def _fastnn_pools(threadpoolctl):
    return [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "fastnn"]


def test_threadpoolctl_lists_fastnn_pool(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(3)
    pools = _fastnn_pools(threadpoolctl)
    assert len(pools) == 1, pools
    assert pools[0]["user_api"] == "openmp"
    assert pools[0]["num_threads"] == 3
    assert pools[0]["version"] == fastnn.__version__
    assert Path(pools[0]["filepath"]).parent == Path(fastnn.__file__).resolve().parent


@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpoolctl_limits_fastnn_pool(user_api, restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(2)
    with threadpoolctl.threadpool_limits(limits=1, user_api=user_api):
        assert fastnn.get_num_threads() == 1
        assert _fastnn_pools(threadpoolctl)[0]["num_threads"] == 1
    assert fastnn.get_num_threads() == 2                  # restored on exit


def test_threadpoolctl_blas_limit_does_not_thread_fastnn_blas(restore_threads):
    """A BLAS limit above 1 reaches fastnn's OpenBLAS too; the next kernel puts it back to one
    thread (fastnn's OpenMP threads call it: a threaded BLAS inside them would oversubscribe),
    and the results do not change."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(2)
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((300, 200)), rng.standard_normal((250, 200))
    before = F.linear_forward(x, w)[0]
    with threadpoolctl.threadpool_limits(limits=3, user_api="blas"):
        assert _fastnn_openblas(threadpoolctl.threadpool_info())[0]["num_threads"] == 3   # the limit reached it
        during = F.linear_forward(x, w)[0]
        assert _fastnn_openblas(threadpoolctl.threadpool_info())[0]["num_threads"] == 1
    assert np.array_equal(before, during)
