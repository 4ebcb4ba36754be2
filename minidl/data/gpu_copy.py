"""Host-to-GPU copies of batches through page-locked (pinned) memory, on a CUDA stream of their own.

A copy from ordinary (pageable) memory goes through a staging buffer of the driver and blocks the
calling thread; from pinned memory the GPU's copy engine reads host memory directly, and on a stream of
its own the copy can overlap the training step's kernels on the default stream. The loader's thread
waits for its copy to finish before handing the batch over, so the training thread never sees a batch
that is still being written.

CUDA's current device belongs to a thread, and a new thread starts on GPU 0: a loader thread must copy to
the device its consumer uses, which `backend.current_gpu()` reads in the consumer's thread and `to_gpu` is given.
minidl/fast.py plugs `to_gpu` into the seam "batch_to_gpu" (plain: `backend.to_gpu`).
"""
import threading

import numpy as np

from .. import backend

_local = threading.local()  # per loader thread: one copy stream per device, one pinned buffer


def to_gpu(array, device=None):
    """A CuPy copy of the NumPy array `array` on GPU `device` (an id; None: the calling thread's current GPU),
    made through pinned memory on this thread's copy stream for that device."""
    cp = backend.cp
    with cp.cuda.Device(device):
        return _copy(cp, np.ascontiguousarray(array))


def _copy(cp, array):
    if getattr(_local, "streams", None) is None:
        _local.streams, _local.pinned, _local.capacity = {}, None, 0
    device_id = cp.cuda.Device().id
    if device_id not in _local.streams:
        _local.streams[device_id] = cp.cuda.Stream(non_blocking=True)
    stream = _local.streams[device_id]
    if _local.capacity < array.nbytes:
        _local.pinned, _local.capacity = cp.cuda.alloc_pinned_memory(array.nbytes), array.nbytes
    staged = np.frombuffer(_local.pinned, array.dtype, array.size).reshape(array.shape)
    staged[...] = array
    device = cp.empty(array.shape, array.dtype)
    # The block may have been freed by the training thread while its kernels, queued on the default stream,
    # still read it: the copy starts only after the work queued there so far.
    stream.wait_event(cp.cuda.Stream.null.record())
    device.set(staged, stream=stream)
    stream.synchronize()  # the pinned buffer is reused by the next copy, and the batch must be complete
    return device
