"""Reusable scratch buffers for the temporaries of conv ops (padded copies, tile and column matrices).

Why: glibc hands large freed blocks straight back to the OS, so every fresh 5-100 MB temporary is paid
for again with one page fault per 4 KiB page on first touch. Reusing one buffer per slot removed about
a quarter of the time of a ResNet-sized conv forward+backward on CPU (see benchmarks/README.md).

The rule for reuse: a slot's array is valid until the next request for the same slot on the same thread.
So within one forward or backward call a helper may hand a scratch array back to its caller (Winograd's
tile transforms do), and two arrays in use at the same time must sit in different slots; but an op never
returns a scratch array as its result or gradient, nor saves one for backward: those are allocated
normally (tested in tests/functional/test_conv_scratch.py). A gradient uses the slot of the forward
value it mirrors (same shape): forward and backward never run at once on one thread.
"""
import math
import threading

from .. import backend

# Every slot, named by what it holds (a request for any other name is an error).
SLOTS = {
    "im2col.padded_input": "the input (or, for a stride-1 input gradient, the output gradient) with its zero border",
    "im2col.columns": "the im2col matrix: one row per output pixel, the kh*kw*C input values its window reads",
    "im2col.column_gradients": "the gradient of that matrix, before col2im adds it back onto the input's pixels",
    "winograd.padded_input": "the input, zero-padded to a whole number of 4x4 output tiles",
    "winograd.input_tiles": "the 6x6 input tiles d (forward), or the tile gradients dd (backward), image space",
    "winograd.transformed_input": "B^T d B (forward, when not kept for backward), or its gradient dV (backward)",
    "winograd.half_transformed": "tiles with the rows transformed and the columns not yet (inside a tile transform)",
    "winograd.products": "the 36 GEMM results M (forward), or their gradient dM (backward), transform domain",
    "winograd.output_tiles": "the 4x4 output tiles A^T M A (forward), or the output gradient cut into tiles (backward)",
}

_local = threading.local()  # one pool per thread, so two threads never share a buffer


def scratch(slot, shape, dtype, xp):
    """An uninitialised array of `shape` for temporary use, backed by this thread's cached buffer for `slot`."""
    if slot not in SLOTS:
        raise ValueError(f"scratch: unknown slot {slot!r}; the slots are {sorted(SLOTS)}")
    pool = _local.__dict__.setdefault("buffers", {})
    key = (slot, backend.device_key(xp), str(dtype))
    size = math.prod(shape)
    buffer = pool.get(key)
    if buffer is None or buffer.size < size:
        buffer = xp.empty(size, dtype=dtype)
        pool[key] = buffer
    return buffer[:size].reshape(shape)


def cached_buffers():
    """This thread's cached buffers, {(slot, array module, dtype): flat array} (for tests and inspection)."""
    return dict(_local.__dict__.get("buffers", {}))


def release_scratch():
    """Free every cached buffer of this thread (they are re-created on demand)."""
    _local.__dict__.pop("buffers", None)
