"""How many threads minidl runs on: every core this process may use, unless the environment says fewer.

MINIDL_NUM_THREADS wins; else OMP_NUM_THREADS (the variable most numeric libraries read); else the cores in
this process's affinity mask (what `taskset` or a container allows), which can be fewer than os.cpu_count().
"""
import os

VARIABLES = ("MINIDL_NUM_THREADS", "OMP_NUM_THREADS")


def thread_count():
    """The number of threads for data-parallel steps and conv chunks (at least 1)."""
    for name in VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
