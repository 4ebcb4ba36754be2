"""Reusable scratch buffers for the temporaries of conv ops (padded copies, tile and column matrices).

Why: glibc hands large freed blocks straight back to the OS, so every fresh 5-100 MB temporary is paid
for again with one page fault per 4 KiB page on first touch. Reusing one buffer per role removed about
a quarter of the time of a ResNet-sized conv forward+backward on CPU (see benchmarks/README.md).
Rule for callers: a scratch array lives only until the next call asking for the same role, so it must
never be returned, saved for backward, or kept; outputs and saved arrays are allocated normally.
"""
import math
import threading

from .. import backend

_local = threading.local()  # one pool per thread, so two threads never share a buffer


def scratch(role, shape, dtype, xp):
    """An uninitialised array of `shape` for temporary use, backed by a cached flat buffer for `role`."""
    pool = _local.__dict__.setdefault("buffers", {})
    key = (role, backend.device_key(xp), str(dtype))
    size = math.prod(shape)
    buffer = pool.get(key)
    if buffer is None or buffer.size < size:
        buffer = xp.empty(size, dtype=dtype)
        pool[key] = buffer
    return buffer[:size].reshape(shape)


def release_scratch():
    """Free every cached buffer of this thread (they are re-created on demand)."""
    _local.__dict__.pop("buffers", None)
