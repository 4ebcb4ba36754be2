"""One BLAS thread, because minidl spreads its convolutions over the cores itself (_conv_threads.py).

NumPy's OpenBLAS starts a worker thread per core and wakes them for every matrix product. minidl's ops
call many small products (Winograd's per-tile GEMMs, one per chunk of images) between elementwise NumPy
work, and its conv already runs chunks on every core in Python threads. Measured on the 2-core machine of
benchmarks/RESULTS.md, with other jobs running, a resnet20 training step at batch 128 took 0.58 s with one
BLAS thread and 6.6 s (OpenBLAS 2 threads, conv 1) to 8.3 s (both 2): the workers spin while they wait for
work and take the cores from the thread that has some. A conv alone is as fast either way.

Applied when minidl is imported, unless OPENBLAS_NUM_THREADS is set (then OpenBLAS does as it says).
OMP_NUM_THREADS is the number of cores minidl's conv threads may use. Only NumPy's bundled OpenBLAS
(the PyPI wheels) is handled; with another BLAS nothing changes.
"""
import ctypes
import glob
import os

import numpy as np

# the thread-count setters of NumPy's bundled OpenBLAS builds (64-bit and 32-bit integer variants)
SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
           "openblas_set_num_threads")


def _bundled_openblas():
    """Paths of the OpenBLAS libraries shipped inside the NumPy wheel (numpy.libs or numpy/.dylibs)."""
    here = os.path.dirname(np.__file__)
    patterns = [os.path.join(here, "..", "numpy.libs", "*openblas*"), os.path.join(here, ".dylibs", "*openblas*")]
    return [path for pattern in patterns for path in glob.glob(pattern)]


def use_one_blas_thread():
    """Set NumPy's OpenBLAS to one thread; returns False where OPENBLAS_NUM_THREADS is set or no OpenBLAS is found."""
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        return False
    for path in _bundled_openblas():
        try:
            library = ctypes.CDLL(path)  # already loaded by NumPy: this returns the same library
        except OSError:
            continue
        for name in SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes, setter.restype = (ctypes.c_int,), None
                setter(1)
                return True
    return False
