"""The stand-in's `cupy.cuda`: one device by default (MINIDL_FAKE_CUPY_DEVICES sets how many), the current
device per thread (as in CUDA), streams and pinned host memory that behave like plain host memory;
synchronize() counts as a host synchronisation."""
import os

from ._array import counter, current_device, set_current_device


class runtime:
    @staticmethod
    def getDeviceCount():
        return int(os.environ.get("MINIDL_FAKE_CUPY_DEVICES", "1"))


class Device:
    def __init__(self, device=None):
        self.id = current_device() if device is None else int(device)
        if not 0 <= self.id < runtime.getDeviceCount():
            raise RuntimeError(f"fake cupy: invalid device ordinal {self.id}")
        self.compute_capability = "90"

    def use(self):
        set_current_device(self.id)

    def synchronize(self):
        counter.sync("Device.synchronize")

    def __enter__(self):
        self._previous = current_device()
        set_current_device(self.id)
        return self

    def __exit__(self, *exc):
        set_current_device(self._previous)


class Stream:
    def __init__(self, null=False, non_blocking=False, ptr=None):
        self.ptr = 0 if null else id(self)

    def synchronize(self):
        counter.sync("Stream.synchronize")

    def use(self):
        _stream[0] = self
        return self

    def record(self, event=None):
        """An Event marking the work queued so far (everything is already done here)."""
        return Event()

    def wait_event(self, event):
        self.waited = getattr(self, "waited", 0) + 1

    def __enter__(self):
        self._previous, _stream[0] = _stream[0], self
        return self

    def __exit__(self, *exc):
        _stream[0] = self._previous


class Event:
    def synchronize(self):
        counter.sync("Event.synchronize")


Stream.null = Stream(null=True)
_stream = [Stream.null]


def get_current_stream():
    return _stream[0]


def get_device_id():
    return current_device()


def alloc_pinned_memory(nbytes):
    """Page-locked host memory in CuPy; a plain buffer here (numpy.frombuffer reads it)."""
    return bytearray(max(int(nbytes), 1))
