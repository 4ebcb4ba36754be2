"""Checks of GPU data that would each cost a host synchronisation, queued as device-side flags instead.

A check on the host (is every target class in range?) has to read the data back, which stalls the GPU
until all queued work is done. On the hot path minidl queues the check's outcome as a 0-d array on the
GPU and reads all queued outcomes together with the next array read back to the host (`Tensor.item()`,
`.numpy()`, a training epoch's metrics). The error is the same, raised a little later.
"""
import threading

_pending = []  # (failed: 0-d bool GPU array, exception class, message)
_lock = threading.Lock()


def defer(failed, error, message):
    """Queue a check: raise error(message) at the next host read if the GPU array `failed` is true."""
    with _lock:
        _pending.append((failed, error, message))


def read(array, cp):
    """Copy the GPU array `array` (of the array module `cp`) to the host, reading every queued check in the same
    synchronisation.

    The checks' flags travel as bytes after the array's own bytes; the first failed check raises.
    """
    with _lock:
        checks = list(_pending)
        _pending.clear()
    if not checks:
        return cp.asnumpy(array)
    data = cp.ascontiguousarray(array)
    flags = cp.stack([failed for failed, _, _ in checks]).astype(cp.uint8)
    host = cp.asnumpy(cp.concatenate([data.reshape(-1).view(cp.uint8), flags]))
    for (_, error, message), failed in zip(checks, host[data.nbytes:]):
        if failed:
            raise error(message)
    return host[:data.nbytes].view(data.dtype).reshape(data.shape)
