"""The command line: ``python -m fastnn {info,demo,bench}`` (also installed as ``fastnn``).

    python -m fastnn info                      build and thread configuration
    python -m fastnn demo [args...]            a short training run (fastnn.demo)
    python -m fastnn bench --quick             compiled vs reference vs torch, interleaved

Exit codes: 0 success, 1 the command failed (a missing optional module, an error while
benchmarking), 2 bad arguments (argparse's convention).
"""
import argparse
import importlib
import sys

__all__ = ["main", "build_parser"]


def _cmd_info(args):
    """Print fastnn.show_config() and threadpoolctl's view of the thread pools."""
    import fastnn
    fastnn.show_config()
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("\nthreadpoolctl is not installed: no thread-pool view")
        return 0
    print("\nthreadpoolctl:")
    for pool in threadpool_info():
        print(f"  {pool.get('user_api', '?'):7s} {pool.get('internal_api', '?'):9s} "
              f"threads={pool.get('num_threads')!s:3s} version={pool.get('version')} "
              f"{pool.get('filepath', '')}")
    return 0


def _cmd_demo(args):
    """Delegate to fastnn.demo.main(argv), imported only now."""
    try:
        demo = importlib.import_module("fastnn.demo")
    except ModuleNotFoundError as err:
        if err.name != "fastnn.demo":
            raise
        print("fastnn demo: the demo module (fastnn.demo) is not part of this build", file=sys.stderr)
        return 1
    rc = demo.main(list(args.demo_args))
    return 0 if rc is None else int(rc)


def _cmd_bench(args):
    from fastnn.bench import run
    return run.main_from_args(args)


def build_parser():
    """The argparse parser of the whole command line."""
    parser = argparse.ArgumentParser(
        prog="fastnn", description="fastnn: compiled neural-network kernels for numpy training loops.")
    sub = parser.add_subparsers(dest="command", metavar="{info,demo,bench}")
    sub.required = True

    p = sub.add_parser("info", help="version, BLAS, OpenMP, threads, compile flags",
                       description="Print fastnn's build configuration (version, BLAS in use, "
                                   "OpenMP, threads, compile flags) and threadpoolctl's view.")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("demo", help="a short training run (arguments go to fastnn.demo)",
                       description="Run fastnn.demo.main(argv); every argument after 'demo' is "
                                   "passed on (try: fastnn demo --help).",
                       add_help=False)
    p.add_argument("demo_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("bench", help="benchmark compiled vs reference (vs torch)",
                       description="Run the registered benchmark cases, interleaving the "
                                   "implementations round by round, and report medians, IQR and "
                                   "speedups of compiled over reference and torch.")
    from fastnn.bench.run import add_arguments
    add_arguments(p)
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv=None):
    """Entry point of ``python -m fastnn`` and the ``fastnn`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":        # everything after "demo" belongs to fastnn.demo,
        return _cmd_demo(argparse.Namespace(demo_args=argv[1:]))   # options included
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
