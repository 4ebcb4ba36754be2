"""Checks of GPU data that would each cost a host synchronisation, queued as device-side flags instead.

A check on the host (is every target class in range?) has to read the data back, which stalls the GPU
until all queued work is done. On the hot path minidl queues the check's outcome as a 0-d array on the
GPU and reads all queued outcomes together at the next host read: `Tensor.item()`, `.numpy()`, or the
end of a training epoch. The error is the same, raised a little later.
"""
import threading

from . import backend

_pending = []  # (failed: 0-d bool GPU array, exception class, message)
_lock = threading.Lock()


def defer(failed, error, message):
    """Queue a check: raise error(message) at the next host read if the GPU array `failed` is true."""
    with _lock:
        _pending.append((failed, error, message))


def raise_pending():
    """Read every queued check in one host synchronisation and raise the first that failed."""
    with _lock:
        if not _pending:
            return
        checks = list(_pending)
        _pending.clear()
    xp = backend.get_array_module(checks[0][0])
    outcomes = backend.cp.asnumpy(xp.stack([failed for failed, _, _ in checks]))
    for (_, error, message), failed in zip(checks, outcomes):
        if failed:
            raise error(message)
