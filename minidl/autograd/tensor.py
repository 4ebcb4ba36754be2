"""`Tensor`: a NumPy/CuPy array plus what autograd needs (requires_grad, grad, the op that made it, hooks).

The operators and methods below are thin calls into `minidl.functional`, where each op is a Function.
"""
import numpy as np

from .. import backend
from . import engine


def _as_array(data, dtype=None, device=None):
    """Turn lists, scalars and arrays into a raw array; Python floats become the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if device is not None:
        xp = backend.xp_for(device)
    else:
        xp = backend.get_array_module(data) if hasattr(data, "__array__") or hasattr(data, "__cuda_array_interface__") else np
    if dtype is not None:
        return xp.asarray(data, dtype=dtype)
    is_array = hasattr(data, "dtype")
    array = xp.asarray(data)
    if not is_array and array.dtype.kind == "f":
        array = array.astype(backend.get_default_dtype(), copy=False)
    return array


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate through them."""

    __array_priority__ = 1000  # makes `ndarray + Tensor` call Tensor.__radd__ instead of NumPy's own add

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        self.data = _as_array(data, dtype, device)
        self.grad = None
        self._ctx = None
        self._hooks = []
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Build a Tensor around an op's output array, without conversion or checks."""
        tensor = cls.__new__(cls)
        tensor.data, tensor.grad, tensor._ctx, tensor._hooks = array, None, None, []
        tensor._retains_grad, tensor.requires_grad = False, requires_grad
        return tensor

    # ----- autograd -----
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_: only floating-point tensors can require gradients, "
                               f"got dtype {self.data.dtype} (shape {self.shape}); convert with .float() first")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_: cannot turn off requires_grad of a non-leaf tensor; use .detach()")
        self.requires_grad = requires_grad
        return self

    def backward(self, grad=None, retain_graph=False):
        """Compute gradients of this tensor with respect to every leaf that requires them."""
        engine.backward(self, grad, retain_graph)

    def detach(self):
        """The same data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def register_hook(self, fn):
        """Call fn(grad) with this tensor's gradient (a raw array) during backward; a non-None return replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        self._hooks.append(fn)
        return _HookHandle(self._hooks, fn)

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward."""
        self._retains_grad = True

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def zero_grad_(self):
        self.grad = None

    # ----- array facts -----
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def T(self):
        return F.permute(self, tuple(reversed(range(self.ndim))))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        return self.shape[0]

    def item(self):
        if self.device == "cuda":  # through to_device, which also reads the queued checks of GPU data
            return backend.to_device(self.data, "cpu").item()
        return self.data.item()

    def numpy(self):
        """The data as a NumPy array (copied from the GPU when needed)."""
        return backend.to_device(self.data, "cpu")

    def tolist(self):
        return self.numpy().tolist()

    def to(self, device=None, dtype=None):
        """A copy on another device and/or with another dtype; gradients flow back through the move."""
        out = self
        if device is not None and backend.normalize_device(device) != self.device:
            out = F.to_device(out, device)
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = F.astype(out, dtype)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def long(self):
        return Tensor._wrap(self.data.astype(np.int64))

    def __repr__(self):
        grad = f", grad_fn={self._ctx.name}" if self._ctx is not None else (
            ", requires_grad=True" if self.requires_grad else "")
        device = ", device='cuda'" if self.device == "cuda" else ""
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=20, prefix="tensor(")
        return f"tensor({body}, dtype={self.dtype}{device}{grad})"

    # ----- operators -----
    def __add__(self, other): return F.add(self, other)
    def __radd__(self, other): return F.add(other, self)
    def __sub__(self, other): return F.sub(self, other)
    def __rsub__(self, other): return F.sub(other, self)
    def __mul__(self, other): return F.mul(self, other)
    def __rmul__(self, other): return F.mul(other, self)
    def __truediv__(self, other): return F.div(self, other)
    def __rtruediv__(self, other): return F.div(other, self)
    def __pow__(self, other): return F.pow(self, other)
    def __rpow__(self, other): return F.pow(other, self)
    def __matmul__(self, other): return F.matmul(self, other)
    def __rmatmul__(self, other): return F.matmul(other, self)
    def __neg__(self): return F.neg(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __getitem__(self, index): return F.index(self, index)

    # Comparisons give plain boolean tensors (no gradient), as in PyTorch.
    def __lt__(self, other): return Tensor._wrap(self.data < _raw(other))
    def __le__(self, other): return Tensor._wrap(self.data <= _raw(other))
    def __gt__(self, other): return Tensor._wrap(self.data > _raw(other))
    def __ge__(self, other): return Tensor._wrap(self.data >= _raw(other))
    __hash__ = object.__hash__

    def eq(self, other): return Tensor._wrap(self.data == _raw(other))

    # ----- methods that mirror functional ops -----
    def exp(self): return F.exp(self)
    def log(self): return F.log(self)
    def sqrt(self): return F.sqrt(self)
    def abs(self): return F.abs(self)
    def clamp(self, min=None, max=None): return F.clamp(self, min, max)
    def relu(self): return F.relu(self)
    def sigmoid(self): return F.sigmoid(self)
    def tanh(self): return F.tanh(self)
    def softmax(self, dim): return F.softmax(self, dim)
    def log_softmax(self, dim): return F.log_softmax(self, dim)
    def matmul(self, other): return F.matmul(self, other)
    def maximum(self, other): return F.maximum(self, other)
    def minimum(self, other): return F.minimum(self, other)

    def sum(self, dim=None, keepdim=False, **numpy_style): return F.sum(self, dim, keepdim, **numpy_style)
    def mean(self, dim=None, keepdim=False, **numpy_style): return F.mean(self, dim, keepdim, **numpy_style)
    def var(self, dim=None, keepdim=False, unbiased=True, **numpy_style):
        return F.var(self, dim, keepdim, unbiased=unbiased, **numpy_style)
    def max(self, dim=None, keepdim=False, **numpy_style): return F.max(self, dim, keepdim, **numpy_style)
    def min(self, dim=None, keepdim=False, **numpy_style): return F.min(self, dim, keepdim, **numpy_style)
    def argmax(self, dim=None, keepdim=False): return F.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return F.argmin(self, dim, keepdim)

    def reshape(self, *shape): return F.reshape(self, _shape_args(shape))
    def view(self, *shape): return F.reshape(self, _shape_args(shape))
    def flatten(self, start_dim=0, end_dim=-1): return F.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1): return F.transpose(self, dim0, dim1)
    def permute(self, *dims): return F.permute(self, _shape_args(dims))
    def squeeze(self, dim=None): return F.squeeze(self, dim)
    def unsqueeze(self, dim): return F.unsqueeze(self, dim)
    def expand(self, *shape): return F.expand(self, _shape_args(shape))
    def split(self, split_size_or_sections, dim=0): return F.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return F.chunk(self, chunks, dim)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _shape_args(args):
    """Accept both x.reshape(2, 3) and x.reshape((2, 3))."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


class _HookHandle:
    """Returned by register_hook; `.remove()` unregisters the hook."""

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Make a new leaf Tensor. Lists and scalars are converted; a NumPy (or CuPy) array of the right dtype and
    device is wrapped, not copied, so writing to one changes the other (torch.tensor always copies; call
    tensor(array.copy()) for that). A dtype or device conversion makes a new array."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


# The functional ops import Tensor, so they are imported after it is defined.
from .. import functional as F  # noqa: E402
