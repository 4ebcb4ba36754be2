"""conv2d (PyTorch's cross-correlation): the argument checks, then the Function the seam "conv2d" gives.

That is the textbook conv (textbook/conv.py), or on the fast path Winograd, im2col or the GPU's
(_conv_fast.py, plugged in by minidl/fast.py); inside `minidl.textbook_ops()` always the textbook one.
"""
import numbers

from .. import seams
from ._util import pair, raw, require_float, require_ndim
from .textbook.conv import TextbookConv2d

OP = "conv2d"


def _textbook(x, w, stride, dilation, groups):
    return TextbookConv2d


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
    function = seams.choose("conv2d", _textbook)(x, w, stride, dilation, groups)
    return function.apply(input, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=int(groups))
