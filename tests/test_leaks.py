"""Leak test: 100,000 forward/backward calls of each compiled family keep memory flat.

One subprocess (this file run as a script) cycles through tests/kernel_workload.py: for each
family, its forward+backward functions (step for optim) and the calls that must raise
ValueError/TypeError (error paths are where references and scratch buffers leak most easily),
both dtypes, round robin, 100,000 calls in all. It measures after a warm-up of 5,000 calls and
at the end:

- RSS (/proc/self/statm): must grow by at most RSS_LIMIT = 4 MiB per family. A binding that
  leaks a reference to its output or its ctx keeps at least one small ndarray (~100 bytes of
  object + its data) per call: >= 10 MB over 100,000 calls. Without a leak the growth measured
  is 0 (pages are reused once the warm-up has filled the allocator's and numpy's caches), so
  4 MiB is far from both; it leaves room for allocator noise on other platforms.
- bytes in use in the C heap (glibc mallinfo2, where available): at most HEAP_LIMIT = 128 KiB
  per family. This sees a C kernel that mallocs scratch and forgets to free it even when the
  buffer is tiny: the smallest malloc chunk is 32 bytes, so 100,000 calls spread over <= 16
  functions leak >= 195 KiB; RSS alone would miss it. Measured without a leak: 0-80 bytes.
- live Python objects allocated by pymalloc (sys.getallocatedblocks): at most BLOCK_LIMIT =
  2,000 more blocks per family. A leaked reference to anything (a ctx, a 0-d result, an
  exception) leaks one block or more per call, i.e. >= 6,000 for a function called 1/16 of the
  time (activation has 16 functions, the most). Measured without a leak: 0-34 (the first family measured
  also sees lazily created module state).

The child runs in a subprocess so that the test runner's own allocations do not blur the
numbers and a crash is a failure.
"""
import ctypes
import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CALLS = 100_000
WARMUP = 5_000
RSS_LIMIT = 4 << 20
HEAP_LIMIT = 128 << 10
BLOCK_LIMIT = 2_000


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]


def _heap_in_use_fn():
    """A function returning the bytes malloc has handed out and not had back (glibc >= 2.33),
    or None elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    mallinfo2.argtypes = []

    def in_use():
        info = mallinfo2()
        return info.uordblks + info.hblkhd   # small chunks + mmapped big ones
    return in_use


def child(calls, families=None):
    import gc

    import numpy as np
    import fastnn
    sys.path.insert(0, str(HERE))
    from kernel_workload import family_calls

    fastnn.set_num_threads(2)
    heap = _heap_in_use_fn()
    f32, f64 = family_calls(np.float32), family_calls(np.float64)
    results = {}
    for fam in families or f32:
        fns = [fn for pair in zip(f32[fam], f64[fam]) for fn in pair]

        def run(n):
            k = len(fns)
            for i in range(n):
                fns[i % k]()

        run(WARMUP)
        gc.collect()
        before = (_rss(), heap() if heap else 0, sys.getallocatedblocks())
        run(calls)
        gc.collect()
        after = (_rss(), heap() if heap else 0, sys.getallocatedblocks())
        results[fam] = {"functions": len(fns), "rss": after[0] - before[0],
                        "heap": after[1] - before[1] if heap else None,
                        "blocks": after[2] - before[2]}
    print(json.dumps(results))


def test_no_leaks_over_100k_calls_per_family():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, __file__, str(CALLS)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, f"child exited with {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    from fastnn._config import FAMILIES
    assert sorted(results) == sorted(FAMILIES)
    def line(fam, r):
        heap = "n/a" if r["heap"] is None else f"{r['heap'] / 2**10:+.1f} KiB"
        return (f"{fam:>10} ({r['functions']:2d} functions): RSS {r['rss'] / 2**20:+.2f} MiB, "
                f"heap {heap}, pymalloc blocks {r['blocks']:+d}")
    report = "\n".join(line(fam, r) for fam, r in results.items())
    print(report)
    bad = [fam for fam, r in results.items()
           if r["rss"] > RSS_LIMIT or (r["heap"] is not None and r["heap"] > HEAP_LIMIT)
           or r["blocks"] > BLOCK_LIMIT]
    assert not bad, (f"memory grew over {CALLS} calls in {bad} (limits: RSS {RSS_LIMIT >> 20} MiB, "
                     f"heap {HEAP_LIMIT >> 10} KiB, {BLOCK_LIMIT} blocks):\n{report}")


if __name__ == "__main__":
    child(int(sys.argv[1]) if len(sys.argv) > 1 else CALLS, sys.argv[2:] or None)
