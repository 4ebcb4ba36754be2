"""Let the C allocator reuse freed array memory instead of returning it to the OS (glibc only).

Every op returns a fresh array. glibc serves blocks above its mmap threshold (128 KiB, raised a little
on its own at run time) straight from the kernel, and unmaps them on free; so the next activation of the
same size gets new pages, each one faulted in and zeroed by the kernel on first touch. A ResNet-20
training step at batch 128 took about 28,000 page faults this way, some 10% of its time. Fixing the
threshold at glibc's maximum (32 MiB) and keeping freed memory (trim threshold 1 GiB) lets later arrays
reuse it: the peak memory is unchanged, but the process does not hand memory back while it runs.

It changes the whole process, so importing minidl does not do it: `minidl.keep_freed_memory()` does, and
train(), the CLI and the benchmarks call it. MINIDL_MALLOC=system leaves the allocator alone. Elsewhere than
glibc (macOS, Windows, musl) this does nothing.
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # mallopt parameter numbers from glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 1024 * 1024             # glibc refuses larger values (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 1024 * 1024 * 1024


def keep_freed_memory():
    """Set the two thresholds; True when glibc accepted them, False where this does not apply."""
    if os.environ.get("MINIDL_MALLOC", "") == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
