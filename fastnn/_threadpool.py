"""fastnn's thread pool as seen by threadpoolctl.

fastnn's kernels run on OpenMP threads whose count fastnn.set_num_threads sets (every compiled
module keeps its own copy of the setting; set_num_threads updates them all). threadpoolctl finds
thread pools by the shared libraries a process has loaded, so it already lists libgomp and
fastnn's single-threaded OpenBLAS, but a limit set on libgomp does not reach a fastnn whose
thread count was set explicitly. Registering this controller makes threadpoolctl list fastnn's
pool as an "openmp" pool of its own (internal_api "fastnn") and limit it:

    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1):               # or user_api="openmp"
        ...                                         # fastnn's kernels run on 1 thread

On leaving the block threadpoolctl restores the count it read on entry. The controller matches
one of fastnn's extension modules (``_linear``) by file name and by the exported
``fnn_set_num_threads`` / ``fnn_get_num_threads`` symbols, so nothing else can be mistaken for it.
"""
from threadpoolctl import LibController, register

__all__ = ["FastnnController"]


class FastnnController(LibController):
    """threadpoolctl controller for fastnn's OpenMP thread count."""

    user_api = "openmp"
    internal_api = "fastnn"
    filename_prefixes = ("_linear.",)
    check_symbols = ("fnn_set_num_threads", "fnn_get_num_threads")

    def get_num_threads(self):
        from ._config import get_num_threads
        return get_num_threads()

    def set_num_threads(self, num_threads):
        from ._config import set_num_threads
        set_num_threads(max(1, int(num_threads)))

    def get_version(self):
        from . import __version__
        return __version__


register(FastnnController)
