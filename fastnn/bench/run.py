"""The benchmark runner behind ``python -m fastnn bench``.

Method (see README "Measuring speed"):

* Every case of fastnn.bench.all_cases() (the quick set unless --full) runs on each selected
  implementation. Implementations are INTERLEAVED: round r times one sample of every
  implementation, starting the round at a rotating position, so a burst of machine noise hits
  all of them alike. A sample is ``number`` back-to-back calls (calibrated so a sample lasts
  about max_time / (rounds * implementations)); its time per call is one observation.
* Reported: the median and interquartile range (IQR) of the per-call times, per implementation,
  and the speedup of compiled over each other implementation as a ratio of medians.
* Idle thread pools: numpy's OpenBLAS workers spin (sched_yield loop) for 2**28 TSC cycles,
  ~0.1 s, after every threaded BLAS call, and libgomp workers spin ~300000 iterations after every
  OpenMP region; on a 2-core machine the spinning pool of the implementation timed last steals a
  core from the one timed next (measured: fastnn's 64x784->256 linear went from 0.20 ms to 1.4 ms
  when interleaved with numpy's ``x @ w.T``). Each library alone never sees this, so by default
  the runner re-runs itself once in a child process with OPENBLAS_THREAD_TIMEOUT=4 and
  GOMP_SPINCOUNT=3000 (unless they are already set), which makes idle pools sleep almost at once
  and costs none of the libraries measurable time when it runs alone (blas.c has the numbers).
  --no-quiet-pools measures without that.
* Memory: default malloc (MALLOC_* as the user has them; reported). Thread counts are reported;
  --threads N sets fastnn, torch and numpy's BLAS to N threads (fastnn's own OpenBLAS stays at 1
  thread: fastnn's OpenMP threads call it).
* Roofline: --roofline measures the float32 GEMM rate fastnn itself reaches on this machine at
  its thread count (peak_rates: a 1024^3 GEMM through its BLAS and threads) and gives every case
  that states its FLOPs (Case.flops: GEMM-bound cases) a lower bound, FLOPs / rate, and the
  fraction of it that the median reaches. A bound above a target shows that the target cannot be
  met on this machine by the direct algorithm on this BLAS. (Memory-bound cases state no bound:
  their data is partly cache-resident from call to call, so no single streaming rate bounds
  them. For the (4096, 1000) softmax and loss cases, relu_forward 4096x1000 of the activation
  family is the practical floor.)
* Thread scaling: --thread-scaling adds the implementation "compiled-1t", fastnn's kernels with
  fastnn at ONE thread (set around its samples only, outside the timed calls), interleaved with
  "compiled" at the current count; its "x vs compiled-1t" column is the speedup that the threads
  give, and a summary line names every case where they made it slower.
"""
import argparse
import gc
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

__all__ = ["add_arguments", "main_from_args", "run_cases", "select_cases", "environment",
           "format_table", "write_plot", "peak_rates", "add_roofline", "format_roofline"]

QUICK_ROUNDS, FULL_ROUNDS = 7, 15
QUICK_MAX_TIME, FULL_MAX_TIME = 0.4, 2.5          # seconds per case, all implementations
QUIET_POOLS = {"OPENBLAS_THREAD_TIMEOUT": "4", "GOMP_SPINCOUNT": "3000"}
_CHILD_FLAG = "FASTNN_BENCH_CHILD"
ONE_THREAD = "compiled-1t"       # fastnn's kernels at one thread (--thread-scaling)
SLOWER_BEYOND_NOISE = 0.95       # "threads made it slower" below this speedup (runs differ ~+-5%)


# --------------------------------------------------------------------------------------------
# command line

def _csv(text):
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got an empty one")
    return items


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    if not v > 0 or not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def add_arguments(p):
    """Add the bench options to an argparse parser (used by fastnn.__main__)."""
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="the quick set of cases, ~0.4 s each (the default)")
    size.add_argument("--full", action="store_true", help="every case, ~2.5 s each")
    p.add_argument("--family", type=_csv, metavar="F1,F2",
                   help="only these families (linear,softmax,...); default all")
    p.add_argument("--impl", type=_csv, metavar="I1,I2",
                   help="only these implementations (compiled,reference,torch,numpy-naive); "
                        "default every one a case offers")
    p.add_argument("--threads", type=_positive_int, metavar="N",
                   help="threads for fastnn, torch and numpy's BLAS (default: leave as they are)")
    p.add_argument("--thread-scaling", action="store_true",
                   help=f"also time fastnn at 1 thread ('{ONE_THREAD}'), interleaved, to see what "
                        "the threads gain and list any case they make slower")
    p.add_argument("--roofline", action="store_true",
                   help="measure the float32 GEMM rate fastnn reaches here and show each GEMM-bound "
                        "case's least time at that rate and how close fastnn gets to it")
    p.add_argument("--repeat", type=_positive_int, metavar="R",
                   help=f"interleaved rounds per case (default {QUICK_ROUNDS} quick, {FULL_ROUNDS} full)")
    p.add_argument("--json", metavar="PATH", help="write every number and the environment as JSON")
    p.add_argument("--plot", metavar="PATH.png",
                   help="write scaling plots (time vs the one parameter that varies) as PNG; "
                        "needs matplotlib (pip install fastnn[bench])")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--no-quiet-pools", action="store_true",
                   help="do not re-run with OPENBLAS_THREAD_TIMEOUT=4 GOMP_SPINCOUNT=3000 "
                        "(see fastnn/bench/run.py)")
    # for tests and quick checks: the time budget per case in seconds
    p.add_argument("--max-time", type=_positive_float, help=argparse.SUPPRESS)


def main_from_args(args):
    """Run ``fastnn bench`` with parsed arguments; returns the exit code."""
    if args.plot and not args.list:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("fastnn bench: --plot needs matplotlib: pip install 'fastnn[bench]' "
                  "(or pip install matplotlib)", file=sys.stderr)
            return 1
    from fastnn.bench import all_cases
    try:
        cases, impls = select_cases(all_cases(), args.family, args.impl, full=args.full,
                                    thread_scaling=getattr(args, "thread_scaling", False))
    except ValueError as err:
        print(f"fastnn bench: error: {err}", file=sys.stderr)
        return 2
    if args.list:
        for c in cases:
            print(f"{c.family:10s} {c.name}   [{', '.join(i for i in c.impls if i in impls)}]")
        return 0
    if not cases:
        print("fastnn bench: no case matches the selection", file=sys.stderr)
        return 1

    if not args.no_quiet_pools and not os.environ.get(_CHILD_FLAG):
        missing = {k: v for k, v in QUIET_POOLS.items() if k not in os.environ}
        if missing:
            return _rerun_with(missing, getattr(args, "argv", None))

    for line in environment_notes():
        print(line)
    rounds = args.repeat or (FULL_ROUNDS if args.full else QUICK_ROUNDS)
    max_time = args.max_time or (FULL_MAX_TIME if args.full else QUICK_MAX_TIME)
    if args.threads:
        set_threads(args.threads, torch_too="torch" in impls)
    env = environment(torch_too="torch" in impls)
    print(f"threads: fastnn {env['threads']['fastnn']}, numpy BLAS {env['threads']['numpy_blas']}"
          + (f", torch {env['threads']['torch']}" if env['threads'].get('torch') else "")
          + f"; {env['cpu_model']} ({env['cpu_count']} CPUs); malloc: {env['malloc']}")
    print(f"{len(cases)} cases, {rounds} interleaved rounds, ~{max_time:g} s each\n")

    results = run_cases(cases, impls, rounds, max_time, progress=sys.stderr.isatty())
    print(format_table(results))
    summary = summarize(results)
    for line in summary["lines"]:
        print(line)
    peaks = None
    if getattr(args, "roofline", False):
        peaks = peak_rates()
        add_roofline(results, peaks)
        print("\n" + format_roofline(results, peaks))
    errors = [(r["name"], i, e) for r in results for i, e in r["errors"].items()]
    for name, impl, err in errors:
        print(f"error: {name} [{impl}]: {err}", file=sys.stderr)

    if args.json:
        doc = {"environment": env,
               "settings": {"full": bool(args.full), "rounds": rounds, "max_time_per_case_s": max_time,
                            "families": args.family, "impls": impls, "threads": args.threads},
               "peaks": peaks,
               "results": results,
               "summary": {k: v for k, v in summary.items() if k != "lines"}}
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        n = write_plot(results, args.plot)
        print(f"wrote {args.plot} ({n} scaling plots)" if n else
              f"wrote {args.plot} (no case group varies a single parameter: nothing to plot)")
    return 1 if errors else 0


def _rerun_with(extra_env, argv):
    """Run this same bench command in a child process with extra_env added."""
    import fastnn
    env = dict(os.environ)
    env.update(extra_env)
    env[_CHILD_FLAG] = "1"
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if argv is None:
        argv = sys.argv[1:]
        if argv and argv[0] != "bench":
            argv = ["bench"] + argv
    print("note: running with " + " ".join(f"{k}={v}" for k, v in extra_env.items())
          + " so idle thread pools sleep at once and do not slow the implementation timed next "
            "(--no-quiet-pools to measure without)", flush=True)
    return subprocess.run([sys.executable, "-m", "fastnn"] + list(argv), env=env).returncode


# --------------------------------------------------------------------------------------------
# selection, threads, environment

def select_cases(cases, families=None, impls=None, full=False, thread_scaling=False):
    """(cases, impls): the cases to run and the implementation names to time (with
    thread_scaling, ONE_THREAD right after "compiled"). ValueError names an unknown family or
    implementation."""
    known_fams = sorted({c.family for c in cases})
    known_impls = sorted({i for c in cases for i in c.impls})
    if families:
        bad = [f for f in families if f not in known_fams]
        if bad:
            raise ValueError(f"unknown family {', '.join(bad)}; available: {', '.join(known_fams)}")
    if impls:
        bad = [i for i in impls if i not in known_impls]
        if bad:
            raise ValueError(f"unknown implementation {', '.join(bad)}; available: {', '.join(known_impls)}")
    chosen = [c for c in cases if (full or c.quick) and (not families or c.family in families)]
    order = impls or ["compiled", "reference", "torch"] + sorted(set(known_impls) - {"compiled", "reference", "torch"})
    order = [i for i in order if i in known_impls]
    if thread_scaling:
        if "compiled" not in order:
            order.insert(0, "compiled")
        order.insert(order.index("compiled") + 1, ONE_THREAD)
    return chosen, order


class _fastnn_threads_for:
    """Context: fastnn at one thread for ONE_THREAD, unchanged for every other implementation."""

    def __init__(self, impl):
        self.one = impl == ONE_THREAD

    def __enter__(self):
        if self.one:
            import fastnn
            self.before = fastnn.get_num_threads()
            fastnn.set_num_threads(1)

    def __exit__(self, *exc):
        if self.one:
            import fastnn
            fastnn.set_num_threads(self.before)


def _numpy_blas_pools():
    """threadpoolctl handles of every BLAS pool except fastnn's own scipy-openblas32 (which must
    stay at one thread)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    ctl = ThreadpoolController()
    return [lib for lib in ctl.lib_controllers
            if lib.user_api == "blas" and "scipy_openblas32" not in lib.filepath]


def set_threads(n, torch_too=False):
    """fastnn, numpy's BLAS (and torch) to n threads."""
    import fastnn
    fastnn.set_num_threads(n)
    for lib in _numpy_blas_pools():
        lib.set_num_threads(n)
    if torch_too:
        try:
            import torch
            torch.set_num_threads(n)
        except ImportError:
            pass


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_notes():
    """Lines to print about environment variables that change what is measured."""
    notes = []
    slow = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ]
    if slow:
        setting = " ".join(f"{k}={os.environ[k]}" for k in slow)
        notes.append(f"note: {setting} is set: it slows numpy's OpenBLAS (and fastnn's). To compare "
                     f"at full speed, unset it for this command only: "
                     f"env {' '.join('-u ' + k for k in slow)} python -m fastnn bench ...")
    return notes


def _malloc_note():
    tuned = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_") or k == "LD_PRELOAD"}
    if not tuned:
        return "default (glibc malloc, no MALLOC_* tuning)"
    return "tuned: " + " ".join(f"{k}={v}" for k, v in sorted(tuned.items()))


def environment(torch_too=False):
    """A dict describing the machine, versions and thread settings."""
    import numpy as np
    import fastnn
    env = {
        "fastnn": fastnn.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "malloc": _malloc_note(),
        "threads": {"fastnn": fastnn.get_num_threads(),
                    "numpy_blas": [lib.num_threads for lib in _numpy_blas_pools()] or None},
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(("OMP_", "OPENBLAS_", "GOMP_", "MKL_", "MALLOC_", "KMP_"))},
        "quiet_pools_child": bool(os.environ.get(_CHILD_FLAG)),
    }
    try:
        env["fastnn_config"] = {k: v for k, v in fastnn.config().items()}
    except Exception as err:  # a partial build still benchmarks
        env["fastnn_config"] = f"unavailable: {err}"
    if torch_too:
        try:
            import torch
            env["torch"] = torch.__version__
            env["threads"]["torch"] = torch.get_num_threads()
        except Exception:
            env["torch"] = None
    return env


# --------------------------------------------------------------------------------------------
# timing

def _stats(samples, number):
    s = sorted(samples)

    def q(p):
        x = p * (len(s) - 1)
        lo = int(math.floor(x))
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (x - lo)
    return {"median_s": q(0.5), "q25_s": q(0.25), "q75_s": q(0.75), "iqr_s": q(0.75) - q(0.25),
            "min_s": s[0], "mean_s": sum(s) / len(s), "rounds": len(s), "number": number,
            "samples_s": samples}


def _time_calls(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def run_case(case, impls, rounds, max_time):
    """Time one case on the given implementations, interleaved; returns a result dict."""
    from fastnn.bench import Unavailable
    res = {"family": case.family, "name": case.name, "params": dict(case.params),
           "flops": case.flops, "quick": case.quick, "impls": {}, "skipped": {}, "errors": {}, "speedup": {}}
    fns = {}
    for impl in impls:
        made_as = "compiled" if impl == ONE_THREAD else impl
        if made_as not in case.impls:
            continue
        try:
            with _fastnn_threads_for(impl):
                fn = case.make(made_as)
                fn()                               # warm-up (first-call costs, page faults)
            fns[impl] = fn
        except Unavailable as err:
            res["skipped"][impl] = str(err) or "unavailable"
        except Exception as err:                   # report, keep benchmarking the rest
            res["errors"][impl] = f"{type(err).__name__}: {err}"
    if not fns:
        return res
    # calibrate: calls per sample so that one round of every implementation takes ~max_time/rounds
    single = {}
    for impl, fn in fns.items():
        with _fastnn_threads_for(impl):
            single[impl] = max(min(_time_calls(fn, 1) for _ in range(3)), 1e-7)
    per_sample = max_time / (rounds * len(fns))
    number = {impl: max(1, int(per_sample / t)) for impl, t in single.items()}
    round_cost = sum(number[i] * single[i] for i in fns)
    rounds_here = rounds if round_cost * rounds <= 3 * max_time else max(3, int(3 * max_time / round_cost))
    samples = {impl: [] for impl in fns}
    names = list(fns)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds_here):
            for j in range(len(names)):
                impl = names[(r + j) % len(names)]
                try:
                    with _fastnn_threads_for(impl):
                        samples[impl].append(_time_calls(fns[impl], number[impl]))
                except Exception as err:
                    res["errors"][impl] = f"{type(err).__name__}: {err}"
                    names.remove(impl)
                    break
    finally:
        if gc_was:
            gc.enable()
    for impl in fns:
        if samples[impl] and impl not in res["errors"]:
            res["impls"][impl] = _stats(samples[impl], number[impl])
    if "compiled" in res["impls"]:
        base = res["impls"]["compiled"]["median_s"]
        for impl, st in res["impls"].items():
            if impl != "compiled":
                res["speedup"][impl] = st["median_s"] / base
    return res


def run_cases(cases, impls, rounds, max_time, progress=False):
    """run_case over a list of cases; returns the list of result dicts."""
    out = []
    for k, case in enumerate(cases):
        if progress:
            print(f"\r[{k + 1}/{len(cases)}] {case.name[:60]:60s}", end="", file=sys.stderr, flush=True)
        out.append(run_case(case, impls, rounds, max_time))
    if progress:
        print("\r" + " " * 72 + "\r", end="", file=sys.stderr, flush=True)
    return out


# --------------------------------------------------------------------------------------------
# roofline

ROOFLINE_GEMM = 1024          # the GEMM that measures the FLOP rate: float32 (n, n) @ (n, n)


def _best_time(fn, budget_s):
    """The fastest of repeated calls of fn within ~budget_s (at least 3 calls, after a warm-up)."""
    fn()
    best, spent, calls = math.inf, 0.0, 0
    while calls < 3 or spent < budget_s:
        t = _time_calls(fn, 1)
        best, spent, calls = min(best, t), spent + t, calls + 1
    return best


def peak_rates(budget_s=1.0):
    """{"flop_s", "threads"}: the float32 GEMM rate fastnn reaches on this machine at its current
    thread count: (1024, 1024) @ (1024, 1024).T through linear_forward (its BLAS, split over its
    threads) into a preallocated output, the fastest call within budget_s (a bound is what the
    machine can do, not what it did on average)."""
    import numpy as np
    import fastnn
    from fastnn import functional as F
    rng = np.random.default_rng(0)
    n = ROOFLINE_GEMM
    a = rng.standard_normal((n, n), dtype=np.float32)
    w = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    gemm = _best_time(lambda: F.linear_forward(a, w, out=c), budget_s)
    return {"flop_s": 2.0 * n ** 3 / gemm, "threads": fastnn.get_num_threads()}


def add_roofline(results, peaks):
    """Give every timed result whose case states its FLOPs a "roofline" entry: bound_s (flops at
    peaks["flop_s"]: no implementation of the direct algorithm on this BLAS is faster), rate
    (fastnn's FLOP/s at its median) and of_bound (bound_s / median)."""
    for r in results:
        med = r["impls"].get("compiled", {}).get("median_s")
        if med and r.get("flops"):
            bound = r["flops"] / peaks["flop_s"]
            r["roofline"] = {"bound_s": bound, "rate": r["flops"] / med, "of_bound": bound / med}


def format_roofline(results, peaks):
    """The roofline table: per case with a bound, fastnn's median, its FLOP rate, the bound and
    the fraction of it reached."""
    head = (f"roofline: this machine at {peaks['threads']} fastnn thread(s) reaches "
            f"{peaks['flop_s'] / 1e9:.0f} GFLOP/s (float32 {ROOFLINE_GEMM}^3 GEMM)")
    rows = [[r["name"], _fmt_time(r["impls"]["compiled"]["median_s"]),
             f"{r['roofline']['rate'] / 1e9:.0f} GFLOP/s", _fmt_time(r["roofline"]["bound_s"]),
             f"{100 * r['roofline']['of_bound']:.0f}%"]
            for r in results if "roofline" in r]
    if not rows:
        return head + "\n(no case timed on \"compiled\" states its FLOPs: nothing to bound)"
    header = ["case", "fastnn", "achieved", "bound", "of bound"]
    text = [head] + _columns(header, rows)
    text.append("bound: the case's FLOPs (2 per multiply-add of the direct algorithm) at that GEMM "
                "rate. Winograd convolutions do fewer FLOPs than the direct algorithm and can pass "
                "100%.")
    return "\n".join(text)


# --------------------------------------------------------------------------------------------
# reporting

def _fmt_time(s):
    if s < 1e-6:
        return f"{s * 1e9:.0f}ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f}us" if s < 1e-4 else f"{s * 1e6:.0f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms" if s < 1e-1 else f"{s * 1e3:.1f}ms"
    return f"{s:.2f}s"


def _columns(header, rows):
    """Lines of a plain-text table of strings: the header, a rule, the rows; the first column
    left-aligned, the others right-aligned."""
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(c.ljust(w) if k == 0 else c.rjust(w)
                                   for k, (c, w) in enumerate(zip(cells, widths)))
    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def format_table(results):
    """A plain-text table: median (± half the IQR) per implementation, then speedups."""
    impls = []
    for r in results:
        for i in list(r["impls"]) + list(r["skipped"]):
            if i not in impls:
                impls.append(i)
    order = [i for i in ("compiled", "reference", "numpy-naive", "torch") if i in impls] + \
            [i for i in impls if i not in ("compiled", "reference", "numpy-naive", "torch")]
    others = [i for i in order if i != "compiled"]
    header = ["case"] + order + [f"x vs {i}" for i in others]
    rows = []
    for r in results:
        row = [r["name"]]
        for i in order:
            if i in r["impls"]:
                st = r["impls"][i]
                row.append(f"{_fmt_time(st['median_s'])} ±{100 * st['iqr_s'] / 2 / st['median_s']:.0f}%")
            elif i in r["errors"]:
                row.append("error")
            elif i in r["skipped"]:
                row.append("n/a")
            else:
                row.append("")
        for i in others:
            row.append(f"{r['speedup'][i]:.2f}" if i in r["speedup"] else "")
        rows.append(row)
    text = _columns(header, rows)
    text.append("times: median per call ± half the interquartile range; "
                "x vs I: median(I) / median(compiled), > 1 means compiled is faster")
    return "\n".join(text)


def summarize(results):
    """Geometric-mean speedups of compiled over each other implementation."""
    by_impl = {}
    for r in results:
        for impl, s in r["speedup"].items():
            by_impl.setdefault(impl, []).append(s)
    geo = {impl: math.exp(sum(math.log(s) for s in v) / len(v)) for impl, v in by_impl.items()}
    lines = [f"compiled vs {impl}: geometric-mean speedup {g:.2f}x over {len(by_impl[impl])} cases"
             for impl, g in geo.items()]
    slower = [f"{r['name']} ({r['speedup'][ONE_THREAD]:.2f}x)" for r in results
              if r["speedup"].get(ONE_THREAD, 1.0) < SLOWER_BEYOND_NOISE]
    if any(ONE_THREAD in r["speedup"] for r in results):
        lines.append("thread scaling: " + ("slower with threads than with one, beyond noise: "
                                           + "; ".join(slower) if slower else
                                           f"no case is slower with threads than with one "
                                           f"(none below {SLOWER_BEYOND_NOISE}x)"))
    skipped = sorted({f"{i}: {why}" for r in results for i, why in r["skipped"].items()})
    lines += [f"skipped {s}" for s in skipped]
    return {"geomean_speedup": geo, "cases": len(results), "lines": lines}


def _op_label(name):
    """The case name with its numbers blanked out: cases of one op at different sizes share it."""
    return re.sub(r"\d+(\.\d+)?", "#", name)


def scaling_groups(results):
    """[(title, param, [(value, result), ...])]: cases of the same op (same family and name up to
    the numbers in it) whose params differ in exactly one numeric entry."""
    groups = {}
    for r in results:
        if r["params"] and r["impls"]:
            groups.setdefault((r["family"], _op_label(r["name"]), tuple(sorted(r["params"]))), []).append(r)
    out = []
    for (fam, label, keys), members in groups.items():
        for p in keys:
            series = {}
            for r in members:
                v = r["params"][p]
                if not isinstance(v, (int, float)):
                    continue
                rest = tuple((k, r["params"][k]) for k in keys if k != p)
                series.setdefault(rest, []).append((v, r))
            for rest, pts in series.items():
                if len({v for v, _ in pts}) >= 2:
                    out.append((_series_title([r["name"] for _, r in pts], p), p,
                                sorted(pts, key=lambda t: t[0])))
    return out


def _series_title(names, param):
    """The names of one series' cases with the numbers that vary along it replaced by the
    parameter's name: "conv2d_forward 32xCx14x14 ->C k3p1 (channel scaling)"."""
    pieces = [re.split(r"(\d+(?:\.\d+)?)", n) for n in names]
    first = pieces[0]
    if any(len(q) != len(first) for q in pieces):
        return names[0]
    title = "".join(param if k % 2 and len({q[k] for q in pieces}) > 1 else part
                    for k, part in enumerate(first))
    return title.replace(f"{param}={param}", param)


def write_plot(results, path):
    """Write the scaling plots to a PNG; returns how many panels it drew."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    groups = scaling_groups(results)
    n = max(1, len(groups))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    if not groups:
        axes.flat[0].text(0.5, 0.5, "no case group varies a single parameter", ha="center")
    for ax, (title, p, pts) in zip(axes.flat, groups):
        impls = []
        for _, r in pts:
            impls += [i for i in r["impls"] if i not in impls]
        for impl in impls:
            xs = [v for v, r in pts if impl in r["impls"]]
            st = [r["impls"][impl] for v, r in pts if impl in r["impls"]]
            med = [s["median_s"] * 1e3 for s in st]
            err = [[(s["median_s"] - s["q25_s"]) * 1e3 for s in st],
                   [(s["q75_s"] - s["median_s"]) * 1e3 for s in st]]
            ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, label=impl)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(p)
        ax.set_ylabel("ms per call (median, IQR bars)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(groups)
