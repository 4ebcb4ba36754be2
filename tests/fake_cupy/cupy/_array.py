"""The stand-in's device array: a wrapper around a NumPy array that refuses to mix with host arrays.

Every operation on it is charged to `counter`: a kernel launch when it computes, a host synchronisation
when it hands a value back to the host (.get(), .item(), bool(), float(), printing, ...).
"""
import collections
import os
import sys
import threading

import numpy

_HERE = os.path.dirname(os.path.abspath(__file__))


class Counter:
    """Kernel launches, host synchronisations, host->device copies and arrays made by dtype since the last reset()."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.launches, self.host_to_device, self.async_copies = 0, 0, 0
        self.syncs = 0             # host synchronisations in the main thread (they stall the training step)
        self.background_syncs = 0  # the same in other threads (the data loader's), which only stall that thread
        self.sync_sites = collections.Counter()  # "file:line (what)" of the caller outside the stand-in -> syncs
        self.dtypes = collections.Counter()      # dtype name -> device arrays (results and views) made with it
        self.gemm_copies = 0  # matmul operands copied first because cuBLAS cannot read them in place

    def sync(self, what):
        if threading.current_thread() is threading.main_thread():
            self.syncs += 1
            self.sync_sites[f"{_caller()} ({what})"] += 1
        else:
            self.background_syncs += 1


counter = Counter()
_thread = threading.local()  # CUDA's current device is per host thread; a new thread starts on device 0


def current_device():
    return getattr(_thread, "device", 0)


def set_current_device(device):
    _thread.device = device


def _caller():
    """file:line of the first frame outside the stand-in (where minidl asked for the sync)."""
    frame = sys._getframe(2)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)).startswith(_HERE):
        frame = frame.f_back
    return "?" if frame is None else f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class HostArrayError(TypeError):
    """A NumPy (host) array reached an operation that needs device arrays."""


def unwrap(value, op, host_ok=False):
    """The NumPy array inside a device array; host arrays raise unless host_ok; lists/tuples are walked."""
    if isinstance(value, ndarray):
        if value._device != current_device():
            raise ValueError(f"fake cupy: {op} got an array on device {value._device} while device "
                             f"{current_device()} is current (this thread's); CuPy fails the same way where the "
                             "two GPUs have no peer access")
        return value._a
    if isinstance(value, numpy.ndarray):
        if host_ok:
            return value
        raise HostArrayError(f"fake cupy: {op} got a host numpy.ndarray (shape {value.shape}, dtype {value.dtype}) "
                             "where a device array is expected; move it with cupy.asarray first")
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v, op, host_ok) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v, op, host_ok) for k, v in value.items()}
    return value


def check_writable(array, op):
    """CuPy has no read-only flag: a write into a broadcast view (stride 0) races between threads. Refuse it."""
    if isinstance(array, ndarray):
        array = array._a
    if isinstance(array, numpy.ndarray) and any(stride == 0 and size > 1
                                                for stride, size in zip(array.strides, array.shape)):
        raise ValueError(f"fake cupy: {op} writes into a broadcast view (shape {array.shape}, strides "
                         f"{array.strides}); on a GPU its threads would write one element many times")


def wrap(value):
    """Results as device arrays: NumPy arrays and NumPy scalars (0-d results) become ndarrays."""
    if isinstance(value, numpy.ndarray):
        return ndarray(value)
    if isinstance(value, numpy.generic):
        return ndarray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def wrap_indices(a, index):
    """CuPy wraps out-of-range integer-array indices around (NumPy raises): do the same."""
    parts = index if isinstance(index, tuple) else (index,)
    if any(p is Ellipsis or p is None or (isinstance(p, numpy.ndarray) and p.dtype == bool) for p in parts):
        return index
    wrapped = tuple(numpy.mod(p, a.shape[axis]) if isinstance(p, numpy.ndarray) and p.dtype.kind in "iu"
                    and axis < a.ndim and a.shape[axis] > 0 else p for axis, p in enumerate(parts))
    return wrapped if isinstance(index, tuple) else wrapped[0]


_VIEW_METHODS = {"reshape", "view", "transpose", "swapaxes", "squeeze", "__getitem__", "ravel"}
_SYNC_METHODS = {"tolist", "tobytes", "__format__", "__repr__", "__str__"}


class ndarray:
    """A device array of the stand-in (wraps a NumPy array, which it never hands out without a sync)."""

    __array_priority__ = 100

    def __init__(self, array):
        self._a = array
        self._device = current_device()
        counter.dtypes[array.dtype.name] += 1

    # ----- explicit transfers (host synchronisations) -----
    def get(self, stream=None, out=None):
        counter.sync("get")
        if out is not None:
            out[...] = self._a
            return out
        return self._a.copy()

    def set(self, host, stream=None):
        counter.host_to_device += 1
        counter.async_copies += stream is not None and stream.ptr != 0
        self._a[...] = unwrap(host, "ndarray.set", host_ok=True)

    def item(self):
        counter.sync("item")
        return self._a.item()

    def __bool__(self):
        counter.sync("bool")
        return bool(self._a)

    def __int__(self):
        counter.sync("int")
        return int(self._a)

    def __float__(self):
        counter.sync("float")
        return float(self._a)

    def __index__(self):
        counter.sync("index")
        return self._a.__index__()

    def __array__(self, *args, **kwargs):
        raise TypeError("fake cupy: implicit conversion of a device array to a NumPy array is not allowed; "
                        "use .get() or cupy.asnumpy()")

    # ----- NumPy protocol: numpy functions on device arrays run on the device, as with CuPy -----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        counter.launches += 1
        inputs = unwrap(inputs, f"numpy.{ufunc.__name__}")
        if "out" in kwargs:
            kwargs["out"] = unwrap(kwargs["out"], f"numpy.{ufunc.__name__}")
            check_writable(kwargs["out"][0] if isinstance(kwargs["out"], tuple) else kwargs["out"], ufunc.__name__)
        return wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        import cupy
        return getattr(cupy, func.__name__)(*args, **kwargs)

    # ----- attributes -----
    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.__array_interface__["data"][0], False), "strides": self._a.strides}

    @property
    def T(self):
        return ndarray(self._a.T)

    @property
    def base(self):
        return None if self._a.base is None else ndarray(self._a.base) if isinstance(self._a.base, numpy.ndarray) else None

    @property
    def device(self):
        from .cuda import Device
        return Device(self._device)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(self._a[i]) if self._a.ndim > 1 else wrap(self._a[i]) for i in range(len(self._a)))

    def __getattr__(self, name):
        if name.startswith("__"):  # never expose NumPy's protocols (__array_interface__, ...) of the host array
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return wrap(attr)

        def method(*args, **kwargs):
            if name in _SYNC_METHODS:
                counter.sync(name)
                return attr(*args, **kwargs)
            if name not in _VIEW_METHODS:
                counter.launches += 1
            return wrap(attr(*unwrap(args, f"ndarray.{name}"), **unwrap(kwargs, f"ndarray.{name}")))
        return method

    def __repr__(self):
        counter.sync("repr")
        return f"fake_cupy_array({self._a!r})"

    __str__ = __repr__

    def __getitem__(self, index):
        index = wrap_indices(self._a, unwrap(index, "ndarray.__getitem__ (index)"))
        result = self._a[index]
        if not _is_basic(index):
            counter.launches += 1
        return wrap(result)

    def __setitem__(self, index, value):
        counter.launches += 1
        check_writable(self._a, "item assignment")
        index = wrap_indices(self._a, unwrap(index, "ndarray.__setitem__ (index)"))
        self._a[index] = unwrap(value, "ndarray.__setitem__ (value)")

    def __copy__(self):
        counter.launches += 1
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        raise TypeError("fake cupy: a device array cannot be pickled directly; .get() it first")


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, numpy.integer, slice)) for p in parts)


def charge_gemm_copies(*operands):
    """CuPy's matmul copies an operand that cuBLAS cannot read in place (not C- or, as a matrix, F-contiguous)
    before the GEMM: charge those copies (a launch each) as it would."""
    for a in operands:
        a = a._a if isinstance(a, ndarray) else a
        if isinstance(a, numpy.ndarray) and a.ndim >= 2 and not (
                a.flags.c_contiguous or (a.ndim == 2 and a.flags.f_contiguous)):
            counter.gemm_copies += 1
            counter.launches += 1


def _binary(ufunc, reflected=False, inplace=False):
    def operator(self, other):
        if isinstance(other, numpy.ndarray) and not isinstance(other, ndarray):
            unwrap(other, f"{ufunc.__name__} (operator)")
        if not isinstance(other, (ndarray, int, float, complex, bool, numpy.generic)):
            return NotImplemented
        counter.launches += 1
        if ufunc is numpy.matmul:
            charge_gemm_copies(self, other)
        a, b = self._a, unwrap(other, ufunc.__name__)
        if inplace:
            check_writable(a, f"in-place {ufunc.__name__}")
            ufunc(a, b, out=a)
            return self
        return wrap(ufunc(b, a) if reflected else ufunc(a, b))
    return operator


for _name, _ufunc in [("add", numpy.add), ("sub", numpy.subtract), ("mul", numpy.multiply),
                      ("truediv", numpy.true_divide), ("floordiv", numpy.floor_divide), ("mod", numpy.remainder),
                      ("pow", numpy.power), ("matmul", numpy.matmul), ("and", numpy.bitwise_and),
                      ("or", numpy.bitwise_or), ("xor", numpy.bitwise_xor), ("lshift", numpy.left_shift),
                      ("rshift", numpy.right_shift)]:
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))
    setattr(ndarray, f"__r{_name}__", _binary(_ufunc, reflected=True))
    setattr(ndarray, f"__i{_name}__", _binary(_ufunc, inplace=True))
for _name, _ufunc in [("lt", numpy.less), ("le", numpy.less_equal), ("gt", numpy.greater),
                      ("ge", numpy.greater_equal), ("eq", numpy.equal), ("ne", numpy.not_equal)]:
    setattr(ndarray, f"__{_name}__", _binary(_ufunc))
for _name, _ufunc in [("neg", numpy.negative), ("pos", numpy.positive), ("abs", numpy.absolute),
                      ("invert", numpy.invert)]:
    setattr(ndarray, f"__{_name}__", lambda self, _u=_ufunc: (setattr(counter, "launches", counter.launches + 1),
                                                             wrap(_u(self._a)))[1])
ndarray.__hash__ = None
