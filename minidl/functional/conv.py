"""conv2d (PyTorch's cross-correlation): argument checks, and the choice between two exact algorithms.

3x3 stride-1 convs (most of every ResNet) go to Winograd F(4x4, 3x3), which needs 4x fewer
multiplications and runs on all cores (_conv_winograd.py); everything else goes to im2col + GEMM
(_conv_im2col.py). Both compute in NHWC and return NCHW-shaped views of NHWC memory (_conv_layout.py).
On the GPU every conv is im2col (a CUDA kernel) + one cuBLAS GEMM (_conv_gpu.py). Inside
`minidl.textbook_ops()` every conv runs the plain version instead (textbook/conv.py).
"""
import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from . import _conv_gpu, _conv_im2col, _conv_winograd, textbook
from ._conv_layout import to_nchw, to_nhwc
from ._util import pair, raw, require_float, require_ndim
from .textbook.conv import TextbookConv2d

OP = "conv2d"


class Conv2dFunction(Function):
    """conv2d on the fast path; `path` (set by the two subclasses below) is the algorithm's module."""
    path = None

    @property
    def name(self):
        return f"{OP}[{self.path.NAME}]"  # the profiler's row: conv2d[winograd] or conv2d[im2col]

    def forward(self, x, weight, bias, stride, pads, dilation, groups):
        need_w = self.needs_input_grad[1]  # only the weight gradient needs forward's tiles / columns
        if self.path is _conv_gpu:
            y, saved = _conv_gpu.forward(to_nhwc(x), weight, stride, pads, dilation, groups, keep_input=need_w)
        elif self.path is _conv_winograd:
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
            grad_x, grad_w = self.path.backward(grad_nhwc, self.saved, need_x, need_w)
        grad_b = grad_nhwc.sum(axis=(0, 1, 2)) if self.has_bias and need_b else None
        return (to_nchw(grad_x) if grad_x is not None else None), grad_w, grad_b


class WinogradConv2d(Conv2dFunction):
    path = _conv_winograd


class Im2colConv2d(Conv2dFunction):
    path = _conv_im2col


class GpuConv2d(Conv2dFunction):
    path = _conv_gpu


def _positive_pair(name, value):
    result = pair(OP, name, value)
    if min(result) < 1:
        raise ValueError(f"{OP}: {name} must be positive, got {value!r}")
    return result


def _pads(padding, kernel, dilation, stride):
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same' (extra odd pixel at the bottom/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f"{OP}: padding string must be 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"{OP}: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return total[0] // 2, total[0] - total[0] // 2, total[1] // 2, total[1] - total[1] // 2
    ph, pw = pair(OP, "padding", padding)
    if min(ph, pw) < 0:
        raise ValueError(f"{OP}: padding must be non-negative, got {padding!r}")
    return ph, ph, pw, pw


def _check(x, w, b, groups):
    require_ndim(OP, x, 4, "N, C, H, W")
    require_ndim(OP, w, 4, "out_channels, in_channels / groups, kH, kW", what="weight")
    require_float(OP, x)
    require_float(OP, w, "weight")
    if x.dtype != w.dtype:
        raise TypeError(f"{OP}: input dtype {x.dtype} and weight dtype {w.dtype} differ; convert one of them")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{OP}: groups must be a positive int, got {groups!r}")
    c, o = x.shape[1], w.shape[0]
    if c % groups or o % groups:
        raise ValueError(f"{OP}: groups={groups} must divide both the input channels ({c}) and the output "
                         f"channels ({o}); input {tuple(x.shape)}, weight {tuple(w.shape)}")
    if c != w.shape[1] * groups:
        raise ValueError(f"{OP}: input of shape {tuple(x.shape)} has {c} channels, but weight of shape "
                         f"{tuple(w.shape)} with groups={groups} expects {w.shape[1] * groups} "
                         "(weight.shape[1] * groups)")
    if b is not None:
        if b.shape != (o,):
            raise ValueError(f"{OP}: bias must have shape ({o},) for weight of shape {tuple(w.shape)}, "
                             f"got {tuple(b.shape)}")
        if b.dtype != w.dtype:
            raise TypeError(f"{OP}: bias dtype {b.dtype} differs from weight dtype {w.dtype}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input (N, C, H, W) with weight (O, C/groups, kH, kW), plus bias (O,).

    stride, padding and dilation take an int or a pair; padding may also be 'valid' or 'same'.
    Returns (N, O, Ho, Wo) with Ho = (H + 2*padding - dilation*(kH-1) - 1) // stride + 1.
    """
    x, w, b = raw(input), raw(weight), raw(bias)
    _check(x, w, b, groups)
    stride = _positive_pair("stride", stride)
    dilation = _positive_pair("dilation", dilation)
    kernel = tuple(w.shape[2:])
    pads = _pads(padding, kernel, dilation, stride)
    size = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    reach = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    if reach[0] > size[0] or reach[1] > size[1]:
        raise ValueError(f"{OP}: kernel {kernel} with dilation {dilation} spans {reach}, larger than the padded "
                         f"input {size} (input {tuple(x.shape)}, padding {padding!r}); the output would be empty")
    if backend.get_array_module(x) is not np:  # GPU: kernels + cuBLAS, no Winograd
        fast = GpuConv2d
    elif _conv_winograd.applicable(w.shape, stride, dilation, groups, x.dtype):
        fast = WinogradConv2d
    else:
        fast = Im2colConv2d
    function = TextbookConv2d if textbook.active() else fast
    return function.apply(input, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=int(groups))
