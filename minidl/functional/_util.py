"""Small helpers shared by the ops: operand conversion, broadcasting checks, gradient un-broadcasting."""
import numpy as np

from .. import backend
from ..autograd.tensor import Tensor


def raw(value):
    """The array inside a Tensor (anything else is returned unchanged)."""
    return value.data if isinstance(value, Tensor) else value


def operands(op, a, b):
    """Turn a binary op's operands into (Tensor-or-array, Tensor-or-array) of one dtype family.

    Python scalars take the dtype of the array operand, so `x32 * 2.0` stays float32 (and an integer
    tensor times a float becomes the default float dtype, as in PyTorch).
    """
    arrays = [raw(v) for v in (a, b)]
    like = next((v for v in arrays if hasattr(v, "dtype")), None)
    if like is None:
        raise TypeError(f"{op}: expected at least one Tensor or array operand, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    xp = backend.get_array_module(like)
    dtype = like.dtype
    if like.dtype.kind in "biu" and any(isinstance(v, (float, np.floating)) for v in arrays):
        dtype = backend.get_default_dtype()  # int tensor and a float scalar: compute in the default float dtype
    out = []
    for value, array in zip((a, b), arrays):
        if not hasattr(array, "dtype"):
            value = xp.asarray(array, dtype=dtype) if isinstance(array, (bool, int, float, np.number)) else \
                xp.asarray(array)
        elif array is like and dtype != like.dtype:
            value = value.to(dtype=dtype) if hasattr(value, "to") else array.astype(dtype)
        out.append(value)
    check_broadcast(op, raw(out[0]).shape, raw(out[1]).shape)
    return out


def check_broadcast(op, *shapes):
    """The broadcast shape, or a clear error naming the op and the shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op}: shapes {listed} do not broadcast (each dimension must match or be 1, "
                         "aligned from the right)") from None


def unbroadcast(grad, shape):
    """Sum a gradient over the dimensions that broadcasting added or stretched, back to `shape`."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(i + extra for i, size in enumerate(shape) if size == 1 and grad.shape[i + extra] != 1)
    summed = grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True)
    return summed.reshape(shape)


def normalize_dim(op, dim, ndim):
    """A non-negative axis, or an error naming the op, the dim and the rank."""
    if not -ndim <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
                         f"(expected {-ndim} <= dim < {ndim})")
    return dim % max(ndim, 1)


def reduction_axes(op, dim, keepdim, ndim, numpy_style):
    """Resolve PyTorch's dim/keepdim or NumPy's axis/keepdims into (axes tuple or None, keepdims)."""
    unknown = set(numpy_style) - {"axis", "keepdims"}
    if unknown:
        raise TypeError(f"{op}: unexpected keyword arguments {sorted(unknown)}")
    if "axis" in numpy_style:
        dim = numpy_style["axis"]
    keepdim = numpy_style.get("keepdims", keepdim)
    if dim is None:
        return None, keepdim
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(normalize_dim(op, d, ndim) for d in dims), keepdim


def pair(op, name, value):
    """Accept an int or a pair for kernel sizes, strides, paddings and dilations, as PyTorch does."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def require_float(op, array, what="input"):
    if array.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a floating-point tensor, got dtype {array.dtype} "
                        f"(shape {tuple(array.shape)})")


def require_ndim(op, array, ndim, layout, what="input"):
    if array.ndim != ndim:
        raise ValueError(f"{op}: expected a {ndim}-D {what} ({layout}), got shape {tuple(array.shape)} "
                         f"with {array.ndim} dimensions")
