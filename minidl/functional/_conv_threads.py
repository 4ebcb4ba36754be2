"""Run independent pieces of a conv (chunks of images) on all CPU cores with plain Python threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so two threads working on different
chunks keep two cores busy, also for the copy-heavy parts that the BLAS library runs on one core only.
Each thread gets its own scratch buffers (_conv_scratch is thread-local). MINIDL_NUM_THREADS=1 turns it off.
"""
import os
from concurrent.futures import ThreadPoolExecutor

_pool, _pool_pid = None, None


def thread_count():
    """MINIDL_NUM_THREADS if set, else the number of cores this process may run on."""
    value = os.environ.get("MINIDL_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_parallel(work, pieces):
    """[work(piece) for piece in pieces], spread over the cores (in order; the first error is raised)."""
    global _pool, _pool_pid
    pieces = list(pieces)
    threads = min(thread_count(), len(pieces))
    if threads <= 1:
        return [work(piece) for piece in pieces]
    # A forked child inherits the pool object but not its threads: it must start its own pool.
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < threads:
        _pool, _pool_pid = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="minidl-conv"), os.getpid()
    return list(_pool.map(work, pieces))
