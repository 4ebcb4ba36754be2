"""One BLAS thread inside minidl's own threads: `with blas_threads(1):`, restored afterwards.

minidl spreads work over the cores itself, in Python threads (a data-parallel step's replicas,
minidl/parallel; or a conv's chunks, functional/_conv_threads.py). If NumPy's OpenBLAS also started a
worker per core for every matrix product, the two kinds of threads would fight for the cores, and
OpenBLAS's workers spin while they wait for work. Measured on the 2-core machine of benchmarks/RESULTS.md
with other jobs running: a resnet20 training step at batch 128 took 0.58 s with one BLAS thread and
6.6-8.3 s with two.

So minidl sets OpenBLAS to one thread while its threads run, and puts back what it found: nothing changes
process-wide (another library in the same process keeps its BLAS threads). OPENBLAS_NUM_THREADS, when
set, is obeyed and left alone. Only NumPy's bundled OpenBLAS (the PyPI wheels) is handled; with another
BLAS this does nothing.
"""
import contextlib
import ctypes
import glob
import os

import numpy as np

# the thread-count functions of NumPy's bundled OpenBLAS builds (64-bit and 32-bit integer variants)
PREFIXES = ("scipy_openblas_", "openblas_")
SUFFIXES = ("64_", "")
_functions = None  # (getter, setter) once looked up; () where no bundled OpenBLAS was found


def _bundled_openblas():
    """Paths of the OpenBLAS libraries shipped inside the NumPy wheel (numpy.libs or numpy/.dylibs)."""
    here = os.path.dirname(np.__file__)
    patterns = [os.path.join(here, "..", "numpy.libs", "*openblas*"), os.path.join(here, ".dylibs", "*openblas*")]
    return [path for pattern in patterns for path in glob.glob(pattern)]


def _thread_functions():
    """(get_num_threads, set_num_threads) of NumPy's OpenBLAS, or () where there is none."""
    global _functions
    if _functions is None:
        _functions = ()
        for path in _bundled_openblas():
            try:
                library = ctypes.CDLL(path)  # already loaded by NumPy: this returns the same library
            except OSError:
                continue
            for prefix in PREFIXES:
                for suffix in SUFFIXES:
                    getter = getattr(library, f"{prefix}get_num_threads{suffix}", None)
                    setter = getattr(library, f"{prefix}set_num_threads{suffix}", None)
                    if getter is not None and setter is not None:
                        getter.argtypes, getter.restype = (), ctypes.c_int
                        setter.argtypes, setter.restype = (ctypes.c_int,), None
                        _functions = (getter, setter)
                        return _functions
    return _functions


def get_blas_threads():
    """OpenBLAS's current thread count, or None where no bundled OpenBLAS was found."""
    functions = _thread_functions()
    return functions[0]() if functions else None


@contextlib.contextmanager
def blas_threads(count):
    """Run the block with NumPy's OpenBLAS on `count` threads, then restore the previous count.

    Does nothing where OPENBLAS_NUM_THREADS is set or no bundled OpenBLAS is found.
    """
    functions = () if os.environ.get("OPENBLAS_NUM_THREADS") else _thread_functions()
    if not functions:
        yield
        return
    getter, setter = functions
    previous = getter()
    if previous == count:
        yield
        return
    setter(count)
    try:
        yield
    finally:
        setter(previous)
