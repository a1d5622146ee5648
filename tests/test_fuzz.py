"""Bad input never crashes, and good input gives the reference's answer: the mutation fuzzer
(tests/fuzz_kernels.py, valid calls from tests/fuzz_specs.py) runs 10,000 cases per seed over
every public function of fastnn.functional (compiled vs fastnn.reference), every layer of
fastnn.nn and every optimizer of fastnn.optim, in a subprocess so that a segfault or a hang is a
test failure and not a dead test runner.

FASTNN_FUZZ_SEEDS="7,8,9" (comma-separated) runs other seeds, to explore beyond CI's fixed ones.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SEEDS = [int(s) for s in os.environ.get("FASTNN_FUZZ_SEEDS", "1,2").split(",")]
CASES = {"functional": 7000, "nn": 2000, "optim": 1000}          # 10,000 per seed


def test_every_public_name_has_a_fuzz_spec():
    sys.path.insert(0, str(HERE))
    try:
        import fuzz_kernels
    finally:
        sys.path.remove(str(HERE))
    assert fuzz_kernels.check_coverage() == []


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzz_public_api(seed):
    # the child imports fastnn exactly as this process did
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    args = [f"--{part}={n}" for part, n in CASES.items()]
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_kernels.py"), str(seed), *args],
                          capture_output=True, text=True, env=env, timeout=600)
    total = sum(CASES.values())
    assert proc.returncode == 0 and f"{total} cases, 0 unexpected" in proc.stdout, (
        f"fuzzer exited with {proc.returncode} (negative: killed by signal {-proc.returncode})\n"
        f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}")
