"""Inverted dropout: zero each element with probability p in training and scale the rest by 1/(1-p)."""
from .. import backend
from ..autograd.function import Function
from ..split_batch import in_order
from ._util import raw


class DropoutFunction(Function):
    def forward(self, x, mask):
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad):
        (mask,) = self.saved
        return grad * mask, None


def dropout(x, p=0.5, training=True):
    """Identity when not training or p == 0; the mask comes from the framework's seeded generator."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    array = raw(x)
    xp = backend.get_array_module(array)
    if xp is backend.np:
        # In a data-parallel step the replicas draw in order, so their masks are the whole batch's mask, cut up.
        keep = in_order(lambda: backend.rng(xp).random(array.shape)) >= p
    else:  # drawn in the tensor's dtype: float32 draws move half the bytes of float64 ones
        keep = backend.rng(xp).random_sample(array.shape, array.dtype) >= array.dtype.type(p)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(array.dtype) * array.dtype.type(scale)
    return DropoutFunction.apply(x, mask)
