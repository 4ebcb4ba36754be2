"""A NumPy-backed stand-in for CuPy, for tests on machines without a GPU.

Device arrays are `cupy.ndarray`, a type distinct from numpy.ndarray: any NumPy (host) array given where a
device array is expected raises HostArrayError, so a host/device mix-up in minidl fails a test. Work is
counted in `cupy.counter`: kernel launches (each computing call) and host synchronisations (each value
read back to the host). Out-of-range integer indices wrap around, as on CuPy. Only the names that every
CuPy release minidl supports (13.0 to 14.x) has are offered (NAMES.txt): a function that CuPy 13 lacks fails
here too. Put this folder first on sys.path (the test option --fake-cupy or MINIDL_FAKE_CUPY=1 does) to make
`import cupy` find it.
"""
import os
import sys

import numpy

from . import cuda, lib, random  # noqa: F401  (submodules, as in CuPy)
from ._array import HostArrayError, charge_gemm_copies, check_writable, counter, ndarray, unwrap, wrap  # noqa: F401

__version__ = "0.0-fake"
is_fake = True

# Names that only build views, report metadata or allocate: no kernel launch.
_NO_LAUNCH = {"reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
              "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d", "ravel", "empty", "empty_like",
              "shape", "ndim", "size", "result_type", "can_cast", "promote_types", "broadcast_shapes",
              "isscalar", "may_share_memory", "shares_memory", "iscomplexobj", "isrealobj", "split",
              "array_split", "diagonal", "real", "imag"}


def get_array_module(*arrays):
    """This module when any argument is a device array, else numpy (as cupy.get_array_module)."""
    import sys
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in arrays) else numpy


def asarray(a, dtype=None, order=None, **kwargs):
    """A device array from a device array (no copy unless the dtype changes) or from host data (a copy)."""
    if isinstance(a, ndarray):
        if dtype is None or numpy.dtype(dtype) == a.dtype:
            return a
        counter.launches += 1
        return ndarray(a._a.astype(dtype))
    if isinstance(a, (list, tuple)) and any(isinstance(v, ndarray) for v in a):
        counter.launches += 1
        return ndarray(numpy.asarray(unwrap(a, "asarray"), dtype=dtype))
    counter.host_to_device += 1
    return ndarray(numpy.array(a, dtype=dtype, order=order or "K"))


def array(a, dtype=None, copy=True, order="K", **kwargs):
    if isinstance(a, ndarray):
        counter.launches += 1
        return ndarray(numpy.array(a._a, dtype=dtype, copy=True, order=order))
    return asarray(a, dtype=dtype, order=order)


def asnumpy(a, stream=None, out=None):
    """Host copy of a device array (a host synchronisation); host data is returned as a NumPy array."""
    if isinstance(a, ndarray):
        return a.get(out=out)
    return numpy.asarray(a)


def broadcast_to(a, shape):
    a = unwrap(a, "broadcast_to")
    view = numpy.broadcast_to(a, shape)
    return ndarray(numpy.lib.stride_tricks.as_strided(a, view.shape, view.strides))


def matmul(a, b, out=None, **kwargs):
    charge_gemm_copies(a, b)
    return _route("matmul", numpy.matmul)(a, b, out=out, **kwargs)


def RawModule(*args, **kwargs):
    """minidl's kernels run on the CPU through the kernel emulation, with device arrays passed as NumPy arrays."""
    emulation = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "emulation"))
    if emulation not in sys.path:  # a stand-in subprocess has only tests/fake_cupy on its path
        sys.path.append(emulation)
    from cuda_emulation import EmulatedModule
    return _CountingModule(EmulatedModule(*args, **kwargs))


class _CountingModule:
    def __init__(self, module):
        self._module = module

    def get_function(self, name):
        function = self._module.get_function(name)

        def launch(grid, block, args, **kwargs):
            counter.launches += 1
            return function(grid, block, unwrap(tuple(args), f"kernel {name}"), **kwargs)
        return launch


def _route(name, target):
    """A module-level function running NumPy's `target` on the arrays inside device arrays."""
    def function(*args, **kwargs):
        if name not in _NO_LAUNCH:
            counter.launches += 1
        if kwargs.get("out") is not None:
            check_writable(kwargs["out"], f"cupy.{name}")
        return wrap(target(*unwrap(args, f"cupy.{name}"), **unwrap(kwargs, f"cupy.{name}")))
    function.__name__ = name
    return function


class _Ufunc:
    """A NumPy ufunc taking and giving device arrays (reduce, accumulate and outer too)."""

    def __init__(self, ufunc):
        self._ufunc, self.__name__ = ufunc, ufunc.__name__
        self.nin, self.nout = ufunc.nin, ufunc.nout

    def __call__(self, *args, **kwargs):
        return _route(self.__name__, self._ufunc)(*args, **kwargs)

    def __getattr__(self, method):
        return _route(f"{self.__name__}.{method}", getattr(self._ufunc, method))


def _names():
    """The public names every supported CuPy release has (NAMES.txt, written by ../cupy_names.py)."""
    import os
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "NAMES.txt")) as listed:
        return {line.strip() for line in listed if line.strip() and not line.startswith("#")}


_CUPY_NAMES = _names()


def __getattr__(name):
    if name not in _CUPY_NAMES:  # NumPy has it, but some CuPy release that minidl supports does not
        raise AttributeError(f"module 'cupy' has no attribute {name!r} (fake cupy: not in every CuPy release "
                             "that minidl supports, see tests/fake_cupy/cupy/NAMES.txt)")
    target = getattr(numpy, name)
    if isinstance(target, numpy.ufunc):
        value = _Ufunc(target)
    elif isinstance(target, type) or not callable(target):
        value = target  # dtypes, numpy scalar types, constants: shared with NumPy, as in CuPy
    else:
        value = _route(name, target)
    globals()[name] = value
    return value


class _Linalg:
    def __getattr__(self, name):
        return _route(f"linalg.{name}", getattr(numpy.linalg, name))


linalg = _Linalg()
