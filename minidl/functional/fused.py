"""Fused elementwise chains: relu(a + b) (a residual unit's output) and t * h + (1 - t) * c (a highway unit's),
for code that wants them fused; the zoo's models write the formulas out, as the book does.

On the GPU each is one kernel forward and one backward (minidl/kernels/elementwise.cu) where the array
ops launch two to four. On the CPU, and whenever the operands differ in shape or memory layout, they are
exactly the composed ops, so CPU results are the same to the last bit as writing the formula out.
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..kernels import elementwise
from ._util import raw
from .activation import relu


class AddReLU(Function):
    def forward(self, a, b):
        out = elementwise.add_relu(a, b)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        grad_x = elementwise.relu_backward(grad, out)
        return grad_x, grad_x


class HighwayCombine(Function):
    def forward(self, t, h, c):
        self.save_for_backward(t, h, c)
        return elementwise.highway_combine(t, h, c)

    def backward(self, grad):
        t, h, c = self.saved
        return elementwise.highway_combine_backward(grad, t, h, c)


def _fusable(*operands):
    arrays = [raw(v) for v in operands]
    if not all(hasattr(a, "strides") for a in arrays) or backend.get_array_module(*arrays) is np:
        return False
    return arrays[0].dtype.kind == "f" and elementwise.same_layout(*arrays)


def add_relu(a, b):
    """relu(a + b): the post-activation residual unit's y = ReLU(F(x) + x) in one kernel on the GPU."""
    return AddReLU.apply(a, b) if _fusable(a, b) else relu(a + b)


def highway_combine(t, h, c):
    """t * h + (1 - t) * c: the highway unit's gated mix of transform h and carry c, one kernel on the GPU."""
    return HighwayCombine.apply(t, h, c) if _fusable(t, h, c) else t * h + (1 - t) * c
