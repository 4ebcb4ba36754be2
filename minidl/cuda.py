"""`minidl.cuda.is_available()`, as in PyTorch."""
from .backend import gpu_available


def is_available():
    """True when CuPy is installed and a CUDA GPU is present."""
    return gpu_available()


def device_count():
    """Number of visible CUDA devices (0 without CuPy)."""
    if not gpu_available():
        return 0
    from .backend import cp
    return cp.cuda.runtime.getDeviceCount()
