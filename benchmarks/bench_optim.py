"""Benchmarks of the optim family: compiled vs numpy twin vs torch.optim (default, foreach=False,
foreach=True)."""
import pytest

from conftest import case_params, run_case


@pytest.mark.parametrize("case,impl", case_params("optim"))
def test_optim(benchmark, case, impl):
    run_case(benchmark, case, impl)
