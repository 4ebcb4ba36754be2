"""`Parameter`: a Tensor that a Module registers as learnable (it always requires a gradient by default)."""
import numpy as np

from .. import backend
from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True; assigning one to a Module attribute registers it.

    Like torch.nn.Parameter, wrapping an existing Tensor or array shares its memory (no copy).
    """

    def __init__(self, data=None, requires_grad=True):
        super().__init__(np.empty(0, backend.get_default_dtype()) if data is None else data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def empty_parameter(shape, device=None, dtype=None):
    """An uninitialised Parameter of the given shape, dtype (default: the framework's) and device."""
    xp = backend.xp_for(device or "cpu")
    return Parameter(xp.empty(shape, dtype=np.dtype(dtype or backend.get_default_dtype())))
