"""CUDA C kernels of the GPU path, one .cu file per family, each launched by the .py file of the same name.

Sources are plain CUDA C in `real` (float or double, set by -Dreal=... when compiled) and are compiled by
CuPy (NVRTC) at first use, once per family, dtype and device. The launch code uses only cupy.RawModule,
get_function, cupy.empty/zeros/empty_like/matmul and the ndarray API, so the same wrappers also run on NumPy
arrays: there the CUDA C is compiled as C++ and run on the CPU (emulation.py), which is how the tests
check every kernel against the NumPy path without a GPU.
"""
from pathlib import Path

import numpy as np

from .. import backend

THREADS = 256  # threads per block
REAL = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
_functions = {}


def function(family, name, like):
    """Kernel `name` of <family>.cu, compiled for the dtype and the device of the array `like`."""
    xp = backend.get_array_module(like)
    device = getattr(getattr(like, "device", None), "id", None)
    key = (family, name, like.dtype.str, xp.__name__, device)
    kernel = _functions.get(key)
    if kernel is None:
        if like.dtype not in REAL:
            raise TypeError(f"{family}.{name}: kernels run on float32 or float64 arrays, got {like.dtype}")
        module_class = _emulated() if xp is np else xp.RawModule
        module = module_class(code=(Path(__file__).parent / f"{family}.cu").read_text(),
                              options=("-std=c++17", f"-Dreal={REAL[like.dtype]}"))
        kernel = _functions[key] = module.get_function(name)
    return kernel


def _emulated():
    from .emulation import EmulatedModule  # NumPy arrays: the kernel runs on the CPU (tests)
    return EmulatedModule


def launch(kernel, count, args):
    """Run `kernel` with one thread per item, `count` items (nothing for none)."""
    if count > 0:
        kernel(((count + THREADS - 1) // THREADS,), (THREADS,), args)


def int32(*values):
    """Kernel int arguments; sizes and offsets must fit a C int (the kernels index with int)."""
    for value in values:
        if not -2 ** 31 <= value < 2 ** 31:
            raise OverflowError(f"minidl kernels index with 32-bit ints; {value} does not fit (split the batch)")
    return tuple(np.int32(v) for v in values)


def element_strides(array):
    """array.strides in elements rather than bytes."""
    return tuple(s // array.itemsize for s in array.strides)
