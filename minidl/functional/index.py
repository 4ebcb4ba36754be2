"""Indexing x[...] with basic slices and integer/boolean arrays; backward scatters (adds) into a zero array."""
from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor


def _is_basic(index):
    """True for ints, slices, None and Ellipsis only: each element is then picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


class Index(Function):
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        self.basic = _is_basic(index)
        return x[index]

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        out = xp.zeros(self.shape, dtype=grad.dtype)
        if self.basic:
            out[self.index] = grad
        elif xp is backend.np:
            # Integer arrays may repeat an element; np.add.at accumulates every repeat (plain += would not).
            xp.add.at(out, self.index, grad)
        else:
            import cupyx
            cupyx.scatter_add(out, self.index, grad)
        return out, None


def _raw_index(index, xp):
    """Tensors and lists inside an index become raw arrays of the indexed tensor's array module."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i, xp) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list) or hasattr(index, "__array__") or hasattr(index, "__cuda_array_interface__"):
        return xp.asarray(index)
    return index


def _axes_taken(part):
    """How many axes of the indexed array one part of an index consumes."""
    if part is None or part is Ellipsis:
        return 0
    return part.ndim if getattr(part, "dtype", None) == bool else 1


def _indexed_axes(parts, ndim):
    """(axis, part) for each integer-array part of an index, following NumPy's rules for None and Ellipsis."""
    axis = 0
    for position, part in enumerate(parts):
        if part is Ellipsis:
            axis = ndim - sum(_axes_taken(q) for q in parts[position + 1:])
            continue
        if hasattr(part, "dtype") and part.dtype.kind in "iu":
            yield axis, part
        axis += _axes_taken(part)


def _check_device_bounds(shape, where):
    """CuPy wraps out-of-range integer-array indices around; raise NumPy's IndexError instead (one read)."""
    parts = where if isinstance(where, tuple) else (where,)
    for axis, part in _indexed_axes(parts, len(shape)):
        if axis >= len(shape) or not part.size:
            continue
        xp = backend.get_array_module(part)
        low, high = (int(v) for v in backend.to_device(xp.stack([part.min(), part.max()]), "cpu"))
        size = shape[axis]
        for value in (low, high):
            if not -size <= value < size:
                raise IndexError(f"index {value} is out of bounds for axis {axis} with size {size}")


def index(x, where):
    """x[where]; what NumPy accepts is accepted, and errors name the shape and the index."""
    where = _raw_index(where, backend.get_array_module(x.data if isinstance(x, Tensor) else x))
    try:
        if backend.device_of(x.data if isinstance(x, Tensor) else x) == "cuda":
            _check_device_bounds(x.shape, where)
        return Index.apply(x, where)
    except IndexError as error:
        raise IndexError(f"index: cannot index a tensor of shape {x.shape} with {where!r}: {error}") from None
