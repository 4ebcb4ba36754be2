"""conv2d on the fast path: the choice between two exact algorithms on the CPU, and the GPU's.

3x3 stride-1 convs (most of every ResNet) go to Winograd F(4x4, 3x3), which needs 4x fewer multiplications
and runs on all cores (_conv_winograd.py); everything else goes to im2col + GEMM (_conv_im2col.py). Both compute
in NHWC and return NCHW-shaped views of NHWC memory (_conv_layout.py). On the GPU every conv is im2col (a CUDA
kernel) + one cuBLAS GEMM (_conv_gpu.py). minidl/fast.py plugs `choose` into the seam "conv2d"; the results
equal functional/textbook/conv.py's (tests/functional/test_textbook_ops.py).
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from . import _conv_gpu, _conv_im2col, _conv_winograd
from ._conv_layout import to_nchw, to_nhwc

OP = "conv2d"


class FastConv2d(Function):
    """conv2d on the fast path; `algorithm` (set by each subclass below) is the module that computes it."""
    algorithm = None

    @property
    def name(self):
        return f"{OP}[{self.algorithm.NAME}]"  # the profiler's row: conv2d[winograd] or conv2d[im2col]

    def forward(self, x, weight, bias, stride, pads, dilation, groups):
        need_w = self.needs_input_grad[1]  # only the weight gradient needs forward's tiles / columns
        if self.algorithm is _conv_gpu:
            y, saved = _conv_gpu.forward(to_nhwc(x), weight, stride, pads, dilation, groups, keep_input=need_w)
        elif self.algorithm is _conv_winograd:
            y, saved = _conv_winograd.forward(to_nhwc(x), weight, pads, keep_tiles=need_w)
        else:
            y, saved = _conv_im2col.forward(to_nhwc(x), weight, stride, pads, dilation, groups, keep_input=need_w)
        if bias is not None:
            y += bias  # NHWC: the bias runs along the contiguous last axis
        self.has_bias = bias is not None
        self.save_for_backward(*saved)
        return to_nchw(y)

    def backward(self, grad):
        grad_nhwc = to_nhwc(grad)
        need_x, need_w, need_b = self.needs_input_grad[:3]
        grad_x = grad_w = None
        if need_x or need_w:
            grad_x, grad_w = self.algorithm.backward(grad_nhwc, self.saved, need_x, need_w)
        grad_b = grad_nhwc.sum(axis=(0, 1, 2)) if self.has_bias and need_b else None
        return (to_nchw(grad_x) if grad_x is not None else None), grad_w, grad_b


class WinogradConv2d(FastConv2d):
    algorithm = _conv_winograd


class Im2colConv2d(FastConv2d):
    algorithm = _conv_im2col


class GpuConv2d(FastConv2d):
    algorithm = _conv_gpu


def choose(x, w, stride, dilation, groups):
    """The fast Function for these arguments: the GPU's, Winograd where it applies, else im2col."""
    if backend.get_array_module(x) is not np:  # GPU: kernels + cuBLAS, no Winograd
        return GpuConv2d
    if _conv_winograd.applicable(w.shape, stride, dilation, groups, x.dtype):
        return WinogradConv2d
    return Im2colConv2d
