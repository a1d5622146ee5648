"""Benchmarks of the embedding family: compiled vs numpy twin vs torch."""
import pytest

from conftest import case_params, run_case


@pytest.mark.parametrize("case,impl", case_params("embedding"))
def test_embedding(benchmark, case, impl):
    run_case(benchmark, case, impl)
