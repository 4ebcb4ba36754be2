"""`Function`: one differentiable op, written as `forward` and `backward` on raw arrays.

`apply` unwraps Tensor arguments to arrays, checks they live on one device, runs `forward`, and, when a
gradient is needed, links the result to this Function so that `backward` can find its way back.
"""
import numpy as np

from .. import backend
from . import grad_mode

# The active minidl.profile() recorder, or None. Read by `apply` and by the engine's backward, so that
# a run without a profile pays one `is None` test per op (see minidl/profiler.py).
profiler = None


class Function:
    """Subclass and write `forward(self, *arrays, **options)` and `backward(self, grad)`.

    `backward` returns one gradient per positional argument of `forward` (None for arguments that are
    not differentiable). Arrays needed by `backward` go through `save_for_backward`, so that the
    engine can free them the moment this op's backward has run.
    """

    def __init__(self):
        self.parents = ()
        self.needs_input_grad = ()
        self._saved = ()
        self._released = False

    @property
    def name(self):
        return type(self).__name__

    def save_for_backward(self, *arrays):
        self._saved = arrays

    @property
    def saved(self):
        if self._released:
            raise RuntimeError(
                f"{self.name}.backward: trying to backward through the graph a second time; its saved arrays "
                "were freed after the first backward. Pass retain_graph=True to the first backward() to keep them.")
        return self._saved

    def release(self):
        """Drop the saved arrays (called by the engine once backward has used them)."""
        self._saved = ()
        self._released = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        fn = cls()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        _check_same_device(fn.name, arrays)
        fn.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = grad_mode.is_grad_enabled() and any(fn.needs_input_grad)
        if not record:
            fn.needs_input_grad = (False,) * len(args)
        if profiler is None:
            out = fn.forward(*arrays, **kwargs)
        else:
            out = profiler.call(fn.name, "forward", fn.forward, *arrays, **kwargs)
        result = Tensor._wrap(out, requires_grad=record)
        if record:
            fn.parents = tuple(a if isinstance(a, Tensor) and a.requires_grad else None for a in args)
            result._ctx = fn
        return result


def _check_same_device(op, arrays):
    """Raise a clear error when one op mixes NumPy (cpu) and CuPy (cuda) arrays."""
    if backend.cp is None:
        return
    # NumPy scalars and dtypes have a shape too, but go with arrays of either device
    arrays = [a for a in arrays if hasattr(a, "shape") and not isinstance(a, (np.generic, np.dtype))]
    devices = {backend.device_of(a) for a in arrays}
    if len(devices) > 1:
        described = ", ".join(f"{tuple(a.shape)} on {backend.device_of(a)}" for a in arrays)
        raise RuntimeError(f"{op}: all inputs must be on one device, got {described}; move them with .to('cuda') "
                           "or .to('cpu') first")
