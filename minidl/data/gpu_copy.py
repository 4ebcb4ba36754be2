"""Host-to-GPU copies of batches through page-locked (pinned) memory, on a CUDA stream of their own.

A copy from ordinary (pageable) memory goes through a staging buffer of the driver and blocks the
calling thread; from pinned memory the GPU's copy engine reads host memory directly, and on a stream of
its own the copy can overlap the training step's kernels on the default stream. The loader's thread
waits for its copy to finish before handing the batch over, so the training thread never sees a batch
that is still being written.
"""
import threading

import numpy as np

from .. import backend

_local = threading.local()  # one stream and one pinned buffer per loader thread


def to_gpu(array):
    """A CuPy copy of the NumPy array `array`, made through pinned memory on this thread's copy stream."""
    cp = backend.cp
    array = np.ascontiguousarray(array)
    if getattr(_local, "stream", None) is None:
        _local.stream, _local.pinned, _local.capacity = cp.cuda.Stream(non_blocking=True), None, 0
    if _local.capacity < array.nbytes:
        _local.pinned, _local.capacity = cp.cuda.alloc_pinned_memory(array.nbytes), array.nbytes
    staged = np.frombuffer(_local.pinned, array.dtype, array.size).reshape(array.shape)
    staged[...] = array
    device = cp.empty(array.shape, array.dtype)
    # The block may have been freed by the training thread while its kernels, queued on the default stream,
    # still read it: the copy starts only after the work queued there so far.
    _local.stream.wait_event(cp.cuda.Stream.null.record())
    device.set(staged, stream=_local.stream)
    _local.stream.synchronize()  # the pinned buffer is reused by the next copy, and the batch must be complete
    return device
