"""as_strided on device arrays: a writable view, as in CuPy (which has no read-only flag)."""
import numpy

from .._array import ndarray, unwrap


def as_strided(x, shape=None, strides=None):
    return ndarray(numpy.lib.stride_tricks.as_strided(unwrap(x, "as_strided"), shape, strides))
