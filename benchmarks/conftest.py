"""pytest-benchmark suites: one bench_<family>.py per family, each parametrised over the cases of
fastnn.bench.cases_<family> and the implementations (compiled, reference, torch when installed).

    pytest benchmarks/ --benchmark-group-by=group --benchmark-columns=median,iqr,rounds

Cases that cannot run (torch absent, family not built) are skipped."""
import pytest

from fastnn.bench import all_cases, Unavailable


def case_params(family):
    """pytest params (case, impl) for one family, with readable ids."""
    out = []
    for case in all_cases():
        if case.family != family:
            continue
        for impl in case.impls:
            out.append(pytest.param(case, impl, id=f"{case.name}-{impl}"))
    return out


def run_case(benchmark, case, impl):
    try:
        fn = case.make(impl)
    except Unavailable as err:
        pytest.skip(str(err))
    benchmark.group = case.name
    benchmark.extra_info["impl"] = impl
    if case.flops:                   # the case's GEMM work, as `python -m fastnn bench --roofline` uses it
        benchmark.extra_info["flops"] = case.flops
    benchmark(fn)
