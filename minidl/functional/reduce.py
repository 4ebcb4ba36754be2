"""Reductions: sum, mean, var, max, min (and argmax/argmin), with PyTorch's dim/keepdim or NumPy's axis/keepdims."""
import builtins
from collections import namedtuple

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import raw, reduction_axes

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def _expand_back(grad, shape, axes, keepdims):
    """Give a reduced gradient back its reduced axes (as size 1) so it broadcasts against the input."""
    if axes is None:
        return grad.reshape((1,) * len(shape))
    if not keepdims:
        for axis in sorted(axes):
            grad = backend.get_array_module(grad).expand_dims(grad, axis)
    return grad


class Sum(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return x.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        return xp.broadcast_to(_expand_back(grad, self.shape, self.axes, self.keepdims), self.shape), None, None


class Mean(Function):
    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        out = x.mean(axis=axes, keepdims=keepdims)
        self.count = x.size // out.size if out.size else 1
        return out

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        g = _expand_back(grad, self.shape, self.axes, self.keepdims) / grad.dtype.type(self.count)
        return xp.broadcast_to(g, self.shape), None, None


class Var(Function):
    """Variance with `correction` (1 = unbiased, PyTorch's default; 0 = biased)."""

    def forward(self, x, axes, keepdims, correction):
        xp = backend.get_array_module(x)
        self.axes, self.keepdims = axes, keepdims
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        count = x.size // mean.size
        self.divisor = builtins.max(count - correction, 0)
        self.save_for_backward(centered)
        out = (centered * centered).sum(axis=axes, keepdims=keepdims)
        return out / x.dtype.type(self.divisor) if self.divisor else out * xp.nan

    def backward(self, grad):
        (centered,) = self.saved
        g = _expand_back(grad, centered.shape, self.axes, self.keepdims)
        return g * centered * (2 / centered.dtype.type(self.divisor)), None, None, None


class Extreme(Function):
    """max (or min) over axes; ties share the gradient equally, as PyTorch's amax/amin do."""

    def forward(self, x, axes, keepdims, largest):
        out = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        winners = x == out
        self.save_for_backward(winners)
        self.axes, self.keepdims = axes, keepdims
        return out if keepdims else out.reshape(_reduced_shape(x.shape, axes))

    def backward(self, grad):
        (winners,) = self.saved
        share = winners / winners.sum(axis=self.axes, keepdims=True).astype(grad.dtype)
        return _expand_back(grad, winners.shape, self.axes, self.keepdims) * share.astype(grad.dtype), None, None, None


class ExtremeAlongDim(Function):
    """max (or min) along one dim, returning values; the gradient goes to the index argmax/argmin picked."""

    def forward(self, x, dim, keepdims, largest):
        xp = backend.get_array_module(x)
        index = x.argmax(axis=dim) if largest else x.argmin(axis=dim)
        index = xp.expand_dims(index, dim)
        self.indices = index
        self.shape, self.dim, self.keepdims = x.shape, dim, keepdims
        values = xp.take_along_axis(x, index, axis=dim)
        return values if keepdims else values.squeeze(dim)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        if not self.keepdims:
            grad = xp.expand_dims(grad, self.dim)
        # grad at the picked index along dim, 0 elsewhere (not put_along_axis: CuPy 13 lacks it)
        along = [1] * len(self.shape)
        along[self.dim] = self.shape[self.dim]
        picked = xp.arange(self.shape[self.dim]).reshape(along) == self.indices
        return xp.where(picked, grad, grad.dtype.type(0)), None, None, None


def _reduced_shape(shape, axes):
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def sum(x, dim=None, keepdim=False, **numpy_style):
    axes, keepdims = reduction_axes("sum", dim, keepdim, raw(x).ndim, numpy_style)
    return Sum.apply(x, axes, keepdims)


def mean(x, dim=None, keepdim=False, **numpy_style):
    array = raw(x)
    if array.dtype.kind not in "fc":
        raise TypeError(f"mean: expected a floating-point tensor, got dtype {array.dtype}; convert with .float()")
    axes, keepdims = reduction_axes("mean", dim, keepdim, array.ndim, numpy_style)
    return Mean.apply(x, axes, keepdims)


def var(x, dim=None, keepdim=False, unbiased=True, correction=None, **numpy_style):
    """Variance; unbiased (divide by n - 1) by default as in PyTorch, `unbiased=False` or `correction=0` for 1/n.

    NumPy's `ddof=` is accepted too.
    """
    if "ddof" in numpy_style:
        correction = numpy_style.pop("ddof")
    axes, keepdims = reduction_axes("var", dim, keepdim, raw(x).ndim, numpy_style)
    if correction is None:
        correction = 1 if unbiased else 0
    return Var.apply(x, axes, keepdims, correction)


def _extreme(op, x, dim, keepdim, numpy_style, largest):
    array = raw(x)
    if array.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {array.shape}")
    if dim is not None and isinstance(dim, int):
        # PyTorch's x.max(dim) returns (values, indices).
        axes, keepdims = reduction_axes(op, dim, keepdim, array.ndim, {})
        values = ExtremeAlongDim.apply(x, axes[0], keepdims, largest)
        indices = values._ctx.indices if values._ctx is not None else None
        if indices is None:
            xp = backend.get_array_module(array)
            indices = xp.expand_dims(array.argmax(axis=axes[0]) if largest else array.argmin(axis=axes[0]), axes[0])
        return MaxMin(values, Tensor._wrap(indices if keepdims else indices.squeeze(axes[0])))
    # No dim (all elements), a tuple of dims, or NumPy's axis=: values only.
    axes, keepdims = reduction_axes(op, dim, keepdim, array.ndim, numpy_style)
    return Extreme.apply(x, axes, keepdims, largest)


def max(x, dim=None, keepdim=False, **numpy_style):
    """Largest value; with an int `dim` returns (values, indices) as PyTorch does, with `axis=` values only."""
    return _extreme("max", x, dim, keepdim, numpy_style, largest=True)


def min(x, dim=None, keepdim=False, **numpy_style):
    """Smallest value; with an int `dim` returns (values, indices) as PyTorch does, with `axis=` values only."""
    return _extreme("min", x, dim, keepdim, numpy_style, largest=False)


def amax(x, dim=None, keepdim=False):
    """Largest value over dim(s), values only (ties share the gradient)."""
    axes, keepdims = reduction_axes("amax", dim, keepdim, raw(x).ndim, {})
    return Extreme.apply(x, axes, keepdims, True)


def amin(x, dim=None, keepdim=False):
    axes, keepdims = reduction_axes("amin", dim, keepdim, raw(x).ndim, {})
    return Extreme.apply(x, axes, keepdims, False)


def argmax(x, dim=None, keepdim=False):
    array = raw(x)
    if dim is None:
        return Tensor._wrap(array.argmax())
    out = array.argmax(axis=dim)
    return Tensor._wrap(backend.get_array_module(array).expand_dims(out, dim) if keepdim else out)


def argmin(x, dim=None, keepdim=False):
    array = raw(x)
    if dim is None:
        return Tensor._wrap(array.argmin())
    out = array.argmin(axis=dim)
    return Tensor._wrap(backend.get_array_module(array).expand_dims(out, dim) if keepdim else out)
