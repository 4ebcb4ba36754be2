"""How many threads minidl runs on: every core this process may use, unless the environment says fewer.

MINIDL_NUM_THREADS wins; else OMP_NUM_THREADS (the variable most numeric libraries read); else the cores in
this process's affinity mask (what `taskset` or a container allows), which can be fewer than os.cpu_count().
A caller that asked for a number of threads (`train_step(..., threads=n)`) sets it for the ops it runs with
`using(n)`.
"""
import contextlib
import os
import threading

VARIABLES = ("MINIDL_NUM_THREADS", "OMP_NUM_THREADS")
_local = threading.local()


def thread_count():
    """The number of threads for data-parallel steps and conv chunks (at least 1)."""
    chosen = getattr(_local, "count", None)
    if chosen is not None:
        return chosen
    for name in VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
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
