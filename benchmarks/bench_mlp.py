"""Benchmarks of a whole MLP training step: compiled vs numpy twin vs torch."""
import pytest

from conftest import case_params, run_case


@pytest.mark.parametrize("case,impl", case_params("mlp"))
def test_mlp(benchmark, case, impl):
    run_case(benchmark, case, impl)
