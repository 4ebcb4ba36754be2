"""Shape ops: reshape/view, flatten, transpose, permute, squeeze, unsqueeze, expand, cat, stack, split, chunk, pad."""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ._util import normalize_dim, raw, unbroadcast


class Reshape(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape), None


class Permute(Function):
    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad):
        return grad.transpose(self.inverse), None


class Expand(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return backend.get_array_module(x).broadcast_to(x, shape)

    def backward(self, grad):
        return unbroadcast(grad, self.shape), None


class Cat(Function):
    """Concatenate along dim; backward hands each input its slice of the gradient."""

    def forward(self, dim, *arrays):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return backend.get_array_module(*arrays).concatenate(arrays, axis=dim)

    def backward(self, grad):
        bounds = np.cumsum(self.sizes)[:-1].tolist()  # plain ints: split positions, not device data
        return (None, *backend.get_array_module(grad).split(grad, bounds, axis=self.dim))


class Pad(Function):
    def forward(self, x, widths, value):
        self.slices = tuple(slice(before, x.shape[i] + before) for i, (before, _) in enumerate(widths))
        return backend.get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad):
        return grad[self.slices], None, None


def reshape(x, shape):
    """The same elements in a new shape (one dimension may be -1)."""
    shape = tuple(int(s) for s in shape)
    size = raw(x).size
    known = int(np.prod([s for s in shape if s != -1]))
    if shape.count(-1) > 1 or (-1 in shape and (known == 0 or size % known)) or (-1 not in shape and known != size):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {raw(x).shape} ({size} elements) "
                         f"into shape {shape}")
    return Reshape.apply(x, shape)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one."""
    shape = raw(x).shape
    if not shape:
        return reshape(x, (1,))
    start = normalize_dim("flatten", start_dim, len(shape))
    end = normalize_dim("flatten", end_dim, len(shape))
    return reshape(x, shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def permute(x, dims):
    ndim = raw(x).ndim
    dims = tuple(normalize_dim("permute", d, ndim) for d in dims)
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {ndim} dimensions of shape "
                         f"{raw(x).shape}")
    return Permute.apply(x, dims)


def transpose(x, dim0, dim1):
    """Swap two dimensions."""
    ndim = raw(x).ndim
    dims = list(range(ndim))
    a, b = normalize_dim("transpose", dim0, ndim), normalize_dim("transpose", dim1, ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(x, tuple(dims))


def squeeze(x, dim=None):
    """Drop dimensions of size 1 (all of them, or just `dim` if it has size 1)."""
    shape = raw(x).shape
    if dim is None:
        return reshape(x, tuple(s for s in shape if s != 1))
    dims = {normalize_dim("squeeze", d, len(shape)) for d in ((dim,) if isinstance(dim, int) else dim)}
    return reshape(x, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    """Insert a dimension of size 1 at position dim."""
    shape = raw(x).shape
    dim = normalize_dim("unsqueeze", dim, len(shape) + 1)
    return reshape(x, shape[:dim] + (1,) + shape[dim:])


def expand(x, shape):
    """Broadcast to a larger shape without copying (-1 keeps a dimension)."""
    old = raw(x).shape
    if len(shape) < len(old):
        raise ValueError(f"expand: the target shape {tuple(shape)} has fewer dimensions than the tensor {old}")
    lead = len(shape) - len(old)
    shape = tuple(old[i - lead] if s == -1 else s for i, s in enumerate(shape))
    for i, s in enumerate(old):
        if s != 1 and s != shape[i + lead]:
            raise ValueError(f"expand: cannot expand shape {old} to {shape}: dimension {i} has size {s}, "
                             "and only size-1 dimensions can be expanded")
    return Expand.apply(x, shape)


def cat(tensors, dim=0):
    """Concatenate tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    shapes = [raw(t).shape for t in tensors]
    ndim = len(shapes[0])
    dim = normalize_dim("cat", dim, ndim)
    for s in shapes:
        if len(s) != ndim or any(a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != dim):
            raise ValueError(f"cat: tensors must have the same shape except in dimension {dim}, got shapes "
                             f"{', '.join(map(str, shapes))}")
    dtypes = {raw(t).dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"cat: tensors must share one dtype, got {sorted(map(str, dtypes))}")
    return Cat.apply(dim, *tensors)


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {raw(t).shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    dim = normalize_dim("stack", dim, raw(tensors[0]).ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(x, split_size_or_sections, dim=0):
    """Pieces of size `split_size_or_sections` (the last may be smaller), or of the listed sizes."""
    from .index import index
    shape = raw(x).shape
    dim = normalize_dim("split", dim, len(shape))
    length = shape[dim]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, length - start) for start in range(0, length, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but dimension {dim} of shape {shape} "
                             f"has size {length}")
    pieces, start = [], 0
    for size in sizes:
        where = (slice(None),) * dim + (slice(start, start + size),)
        pieces.append(index(x, where))
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """Split into `chunks` pieces of equal size (the last may be smaller), as torch.chunk."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    length = raw(x).shape[normalize_dim("chunk", dim, raw(x).ndim)]
    return split(x, max(-(-length // chunks), 1), dim)


def pad(x, pad, mode="constant", value=0.0):
    """Constant padding; `pad` lists (before, after) pairs starting from the LAST dimension, as torch's F.pad."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    shape = raw(x).shape
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ValueError(f"pad: expected an even number of values covering at most {len(shape)} dimensions "
                         f"(shape {shape}), got {tuple(pad)}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return Pad.apply(x, tuple(widths), value)
