"""Launch pool.cu: max_pool2d forward (with the winning tap of each window) and backward."""
import numpy as np

from .. import backend
from . import cast, check_reach, element_strides, function, int32, launch


def _sizes(shape, out, kernel, stride, padding, channels_last):
    return (*shape, *out, *kernel, *stride, *padding, int(channels_last))


def _in_layout(xp, shape, dtype, channels_last):
    """Uninitialised (N, C, H, W) array, its memory channels-last when asked."""
    n, c, h, w = shape
    return xp.empty((n, h, w, c), dtype).transpose(0, 3, 1, 2) if channels_last else xp.empty(shape, dtype)


def max_pool2d_forward(x, kernel, stride, padding, out, channels_last):
    """(pooled (N, C, Ho, Wo), index of the winning tap) in the layout chosen by channels_last."""
    xp = backend.get_array_module(x)
    shape = x.shape[:2] + tuple(out)
    check_reach("max_pool2d", input=x, output=shape)
    best = _in_layout(xp, shape, x.dtype, channels_last)
    index = _in_layout(xp, shape, np.int32, channels_last)
    args = (x, *int32(*element_strides(x), *_sizes(x.shape, out, kernel, stride, padding, channels_last)),
            x.dtype.type(-float("inf")), best, index)
    launch(function("pool", "max_pool2d_forward", x), best.size, args)
    return best, index


def max_pool2d_backward(grad, index, shape, kernel, stride, padding, channels_last):
    """grad_x of `shape` (N, C, H, W), in the input's layout, from grad (any strides) and forward's index."""
    xp = backend.get_array_module(grad)
    check_reach("max_pool2d backward", gradient=grad, index=index, input_gradient=tuple(shape))
    (index,) = cast(np.int32, index)
    grad_x = _in_layout(xp, shape, grad.dtype, channels_last)
    out = grad.shape[2:]
    args = (grad, *int32(*element_strides(grad)), index,
            *int32(*_sizes(shape, out, kernel, stride, padding, channels_last)), grad_x)
    launch(function("pool", "max_pool2d_backward", grad), grad_x.size, args)
    return grad_x
