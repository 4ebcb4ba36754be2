"""Pooling over (N, C, H, W): max, average and adaptive average, with PyTorch's semantics.

The argument checks, then the Function the seams "max_pool2d", "avg_pool2d" and "adaptive_avg_pool2d" give: the
textbook pools (textbook/pool.py), or on the fast path those of _pool_fast.py (plugged in by minidl/fast.py).
"""
from .. import seams
from ._util import pair, raw, require_float, require_ndim
from .textbook.pool import TextbookAdaptiveAvgPool2d, TextbookAvgPool2d, TextbookMaxPool2d


def _window_geometry(op, x, kernel_size, stride, padding):
    """Checked (kernel, stride, padding, output size) pairs of a pooling op."""
    require_ndim(op, x, 4, "N, C, H, W")
    require_float(op, x)
    kernel = pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == [] else pair(op, "stride", stride)
    padding = pair(op, "padding", padding)
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"{op}: kernel_size and stride must be positive, got kernel_size={kernel_size!r}, "
                         f"stride={stride!r}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding must be between 0 and half the kernel size (as in PyTorch), got "
                         f"padding={padding} for kernel_size={kernel}")
    out = tuple((size + 2 * p - k) // s + 1 for size, p, k, s in zip(x.shape[2:], padding, kernel, stride))
    if min(out) < 1:
        raise ValueError(f"{op}: kernel_size {kernel} is larger than the padded input "
                         f"{tuple(size + 2 * p for size, p in zip(x.shape[2:], padding))} (input shape "
                         f"{tuple(x.shape)}, padding {padding}); the output would be empty")
    return kernel, stride, padding, out


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """Max over kernel_size windows (stride defaults to kernel_size; padding counts as -inf)."""
    geometry = _window_geometry("max_pool2d", raw(input), kernel_size, stride, padding)
    return seams.choose("max_pool2d", TextbookMaxPool2d.apply)(input, *geometry)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over kernel_size windows; padded zeros count in the mean unless count_include_pad=False."""
    if ceil_mode:
        raise NotImplementedError("avg_pool2d: ceil_mode=True is not supported; pad the input (F.pad) so that "
                                  "the windows fit, or use ceil_mode=False")
    geometry = _window_geometry("avg_pool2d", raw(input), kernel_size, stride, padding)
    function = seams.choose("avg_pool2d", TextbookAvgPool2d.apply)
    return function(input, *geometry, count_include_pad=bool(count_include_pad))


def adaptive_avg_pool2d(input, output_size):
    """Average-pool to output_size (int, or pair with None meaning "keep that input size")."""
    op = "adaptive_avg_pool2d"
    x = raw(input)
    require_ndim(op, x, 4, "N, C, H, W")
    require_float(op, x)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:  # None keeps that input size
        output_size = tuple(x.shape[2 + i] if s is None else s for i, s in enumerate(output_size))
    oh, ow = pair(op, "output_size", output_size)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r} for input of shape {tuple(x.shape)}")
    return seams.choose("adaptive_avg_pool2d", TextbookAdaptiveAvgPool2d.apply)(input, (oh, ow))
