"""How many threads minidl runs on: every core this process may use, unless the environment says fewer.

MINIDL_NUM_THREADS wins (a value that is not a whole number >= 1 is an error, not a silent "all cores"); else
OMP_NUM_THREADS (the variable most numeric libraries read); else the cores in this process's affinity mask
(what `taskset` or a container allows), which can be fewer than os.cpu_count().
A caller that asked for a number of threads (`train_step(..., threads=n)`) sets it for the ops it runs with
`using(n)`.
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

VARIABLES = ("MINIDL_NUM_THREADS", "OMP_NUM_THREADS")
_local = threading.local()
_pools = {}  # name -> (pool, pid of the process that started it)


def thread_count():
    """The number of threads for data-parallel steps and conv chunks (at least 1)."""
    chosen = getattr(_local, "count", None)
    if chosen is not None:
        return chosen
    for name in VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
        if value and name == "MINIDL_NUM_THREADS":  # (an OMP_NUM_THREADS such as "4,2" is OpenMP's to read)
            raise ValueError(f"MINIDL_NUM_THREADS={value!r}: expected a whole number of threads >= 1; unset it "
                             "to use every core this process may use")
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def using(count):
    """Make thread_count() return `count` in this thread for the duration of the block (None: no change)."""
    previous = getattr(_local, "count", None)
    _local.count = count if count is not None else previous
    try:
        yield
    finally:
        _local.count = previous


def pool(name, workers):
    """This process's thread pool called `name`, with at least `workers` threads (started on first use).

    A forked child inherits the pool object but not its threads, so a pool started by another pid is replaced.
    """
    current, pid = _pools.get(name, (None, None))
    if current is None or pid != os.getpid() or current._max_workers < workers:
        current = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"minidl-{name}")
        _pools[name] = (current, os.getpid())
    return current
