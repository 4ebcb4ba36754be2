"""CUDA C kernels of the GPU path, one .cu file per family, each launched by the .py file of the same name.

Sources are plain CUDA C in `real` (float or double) with THREADS threads per block, both set by the
options of `compile_options` when CuPy (NVRTC) compiles them, at first use, once per family, dtype and device.
The launch code uses only cupy.RawModule, get_function, cupy.empty/zeros/empty_like/matmul and the ndarray
API, so the same wrappers also run on NumPy arrays once the tests install their CPU emulation as `emulator`
(tests/emulation/cuda_emulation.py: the CUDA C compiled as C++), which is how they check every kernel against
the NumPy path without a GPU.

A kernel reads its pointer arguments as the one `real` it was compiled for: CuPy passes bare pointers, so a
float64 array given where a float is expected would be read as garbage. Every wrapper therefore casts its
operands to the kernel's dtype (`cast`) before it launches; the emulation refuses any other argument type.
"""
import math
from pathlib import Path

import numpy as np

from .. import backend

THREADS = 256  # threads per block, in every kernel (a power of two: the block reductions halve it)
REAL = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
INT_LIMIT = 2 ** 31  # the kernels index with 32-bit ints
_functions = {}
emulator = None  # a cupy.RawModule stand-in that runs the kernels on NumPy arrays; only the tests install one


def compile_options(dtype):
    """The options minidl gives CuPy's RawModule for a kernel in `dtype` (CuPy adds its own on a device)."""
    return ("-std=c++17", f"-Dreal={REAL[np.dtype(dtype)]}", f"-DTHREADS={THREADS}")


def source(family):
    """The CUDA C text of <family>.cu."""
    return (Path(__file__).parent / f"{family}.cu").read_text()


def function(family, name, like):
    """Kernel `name` of <family>.cu, compiled for the dtype and the device of the array `like`."""
    xp = backend.get_array_module(like)
    device = getattr(getattr(like, "device", None), "id", None)
    key = (family, name, like.dtype.str, xp.__name__, device)
    kernel = _functions.get(key)
    if kernel is None:
        if like.dtype not in REAL:
            raise TypeError(f"{family}.{name}: kernels run on float32 or float64 arrays, got {like.dtype}")
        if xp is np:
            if emulator is None:
                raise TypeError(f"{family}.{name}: minidl's CUDA kernels run on CuPy arrays, got a NumPy array (only "
                                "the tests run them on the CPU, through tests/emulation/cuda_emulation.py)")
            kernel = emulator(code=source(family), options=compile_options(like.dtype)).get_function(name)
        else:
            kernel = _compiled(xp, family, name, like.dtype)
        _functions[key] = kernel
    return kernel


def _compiled(cp, family, name, dtype):
    """CuPy compiles the module when its first function is asked for: say what to install if that fails."""
    try:
        return cp.RawModule(code=source(family), options=compile_options(dtype)).get_function(name)
    except Exception as error:  # most often NVRTC (CUDA's runtime compiler) missing
        raise RuntimeError(f"{family}.{name}: CuPy could not compile or load minidl's kernel ({error}). Where NVRTC "
                           "or another CUDA library is missing, install CuPy with its CUDA libraries: pip install "
                           "'minidl[gpu]' for a CUDA 12 driver or 'minidl[gpu-cuda13]' for CUDA 13 (one of the two)"
                           ) from error


def launch(kernel, count, args):
    """Run `kernel` with one thread per item, `count` items (nothing for none)."""
    if count > 0:
        kernel(((count + THREADS - 1) // THREADS,), (THREADS,), args)


def cast(dtype, *arrays):
    """The arrays in `dtype` (each unchanged when it already is; None stays None): what a kernel compiled for
    `dtype` may be given."""
    return tuple(a if a is None or a.dtype == dtype else a.astype(dtype) for a in arrays)


def int32(*values):
    """Kernel int arguments; sizes and offsets must fit a C int (the kernels index with int)."""
    for value in values:
        if not -INT_LIMIT <= value < INT_LIMIT:
            raise OverflowError(f"minidl kernels index with 32-bit ints; {value} does not fit (split the batch)")
    return tuple(np.int32(v) for v in values)


def check_reach(op, **arrays):
    """Refuse operands whose element offsets a kernel's 32-bit ints cannot reach. Each value is an array
    (read through its strides) or the shape of a contiguous array about to be allocated."""
    for name, a in arrays.items():
        if isinstance(a, tuple):
            shape, reach = a, math.prod(a)
        else:
            shape, reach = a.shape, 0 if a.size == 0 else 1 + sum(
                (n - 1) * abs(s) for n, s in zip(a.shape, element_strides(a)))
        if reach > INT_LIMIT - 1:
            raise OverflowError(f"{op}: {name} of shape {tuple(shape)} spans {reach} elements, more than the "
                                f"{INT_LIMIT - 1} that the kernels' 32-bit indices reach; split the batch")


def element_strides(array):
    """array.strides in elements rather than bytes."""
    return tuple(s // array.itemsize for s in array.strides)
