"""Benchmark cases for Python threads: four independent jobs run on four Python threads at once
("compiled") vs the same four jobs one after another ("serial"), both on fastnn's kernels at the
current fastnn thread count. fastnn releases the GIL inside every kernel, so the concurrent run
should take less wall time than the serial one; the "x vs serial" column is that gain.

A job is a few calls of a real workload, each job on its own data: an MLP 784-256-10 training
step at batch 64 (GEMM-bound), a conv 8->16 5x5 forward+backward on 16x8x24x24 (im2col + GEMM),
and softmax forward+backward on 256x1000 (memory-bound, small). The four threads come from one
ThreadPoolExecutor made with the case, so thread start-up is not timed.
"""
from concurrent.futures import ThreadPoolExecutor

from . import Case, register
from .cases_conv import _conv_bwd, _conv_fwd
from .cases_mlp import _mlp_step
from .cases_softmax import _bwd as _softmax_bwd, _fwd as _softmax_fwd

JOBS = 4


def _concurrent(parts, repeat):
    """A case maker: JOBS jobs, each `repeat` rounds of every callable that parts' makers build."""
    def make(impl):
        jobs = []
        for _ in range(JOBS):
            calls = [m("compiled") for m in parts]        # each job its own data and contexts

            def job(calls=calls):
                for _ in range(repeat):
                    for c in calls:
                        c()
            jobs.append(job)
        if impl == "serial":
            def run():
                for job in jobs:
                    job()
            return run
        pool = ThreadPoolExecutor(JOBS, thread_name_prefix="fastnn-bench")

        def run():
            for f in [pool.submit(job) for job in jobs]:
                f.result()
        return run
    return make


register(Case("threads", f"{JOBS} Python threads: MLP 784-256-10 step x5, batch 64",
              _concurrent([_mlp_step(64)], 5), impls=("compiled", "serial")))
register(Case("threads", f"{JOBS} Python threads: conv 16x8x24x24 ->16 k5 fwd+bwd x3",
              _concurrent([_conv_fwd(16, 8, 16, 24, k=5, pad=0), _conv_bwd(16, 8, 16, 24, k=5, pad=0)], 3),
              impls=("compiled", "serial")))
register(Case("threads", f"{JOBS} Python threads: softmax 256x1000 fwd+bwd x10",
              _concurrent([_softmax_fwd("softmax", (256, 1000), -1),
                           _softmax_bwd("softmax", (256, 1000), -1)], 10),
              impls=("compiled", "serial")))
