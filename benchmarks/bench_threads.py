"""Benchmarks of Python-thread concurrency: 4 jobs on 4 Python threads vs the same jobs serially."""
import pytest

from conftest import case_params, run_case


@pytest.mark.parametrize("case,impl", case_params("threads"))
def test_threads(benchmark, case, impl):
    run_case(benchmark, case, impl)
