"""Bad input never crashes: a seeded fuzzer (tests/fuzz_kernels.py) calls every compiled
forward/step function with 20,000 random wrong arguments, in a subprocess so that a segfault is
a test failure and not a dead test runner."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_kernels_bad_input(seed):
    # the child imports fastnn exactly as this process did
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, str(HERE / "fuzz_kernels.py"), str(seed), "10000"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, (f"fuzzer exited with {proc.returncode} (negative: killed by a "
                                  f"signal)\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    assert "10000 cases, 0 unexpected" in proc.stdout
