"""Max, average and adaptive average pooling, the textbook way: one loop over the output pixels.

Output pixel (i, j) looks at the window of the padded input x_pad[:, :, i*sh : i*sh + kh, j*sw : j*sw + kw]:

    max:      y[i, j] = max(window)        dx_pad[window] += dy[i, j] at the window's (first) maximum
    average:  y[i, j] = sum(window) / d    dx_pad[window] += dy[i, j] / d
    adaptive: like average, with window rows floor(i*H/oh) .. ceil((i+1)*H/oh) - 1 (and columns alike)

Max pooling pads with -inf, average pooling with 0; d is kh*kw, or with count_include_pad=False the number
of real (unpadded) pixels in the window. Overlapping windows add up their gradients.
"""
import math

from ... import backend
from . import TextbookFunction


def _pad(x, padding, value):
    ph, pw = padding
    return backend.get_array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(kernel, stride, out):
    """((i, j), rows, cols) of every output pixel: the slices of the padded input its window covers."""
    (kh, kw), (sh, sw) = kernel, stride
    for i in range(out[0]):
        for j in range(out[1]):
            yield (i, j), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)


def _crop(grad_pad, padding, shape):
    ph, pw = padding
    return grad_pad[:, :, ph:ph + shape[2], pw:pw + shape[3]]


class TextbookMaxPool2d(TextbookFunction):
    op = "max_pool2d"

    def forward(self, x, kernel, stride, padding, out):
        xp = backend.get_array_module(x)
        xpad = _pad(x, padding, -xp.inf)
        n, c = x.shape[:2]
        y = xp.empty((n, c, *out), dtype=x.dtype)
        winner = xp.empty((n, c, *out), dtype=xp.int64)  # where in its window (flattened) each maximum sits
        for (i, j), rows, cols in _windows(kernel, stride, out):
            window = xpad[:, :, rows, cols].reshape(n, c, -1)
            winner[:, :, i, j] = window.argmax(axis=2)  # the first maximum (a NaN counts as the maximum)
            y[:, :, i, j] = window.max(axis=2)
        self.args = (x.shape, kernel, stride, padding, out)
        self.save_for_backward(winner)
        return y

    def backward(self, grad):
        (winner,) = self.saved
        shape, kernel, stride, padding, out = self.args
        xp = backend.get_array_module(grad)
        grad_pad = xp.zeros((shape[0], shape[1], shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]), grad.dtype)
        positions = xp.arange(kernel[0] * kernel[1])
        for (i, j), rows, cols in _windows(kernel, stride, out):
            at_max = positions == winner[:, :, i, j, None]  # (N, C, kh*kw), one True per window
            grad_pad[:, :, rows, cols] += (at_max * grad[:, :, i, j, None]).reshape(*shape[:2], *kernel)
        return _crop(grad_pad, padding, shape), None, None, None, None


class TextbookAvgPool2d(TextbookFunction):
    op = "avg_pool2d"

    def forward(self, x, kernel, stride, padding, out, count_include_pad):
        xp = backend.get_array_module(x)
        xpad = _pad(x, padding, 0)
        inside = _pad(xp.ones(x.shape[2:], x.dtype)[None, None], padding, 0)  # 1 on real pixels, 0 on padding
        y = xp.empty((*x.shape[:2], *out), dtype=x.dtype)
        divisors = {}
        for (i, j), rows, cols in _windows(kernel, stride, out):
            divisors[i, j] = kernel[0] * kernel[1] if count_include_pad else inside[0, 0, rows, cols].sum()
            y[:, :, i, j] = xpad[:, :, rows, cols].sum(axis=(2, 3)) / divisors[i, j]
        self.args = (x.shape, kernel, stride, padding, out, divisors)
        return y

    def backward(self, grad):
        shape, kernel, stride, padding, out, divisors = self.args
        xp = backend.get_array_module(grad)
        grad_pad = xp.zeros((shape[0], shape[1], shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]), grad.dtype)
        for (i, j), rows, cols in _windows(kernel, stride, out):
            grad_pad[:, :, rows, cols] += (grad[:, :, i, j] / divisors[i, j])[:, :, None, None]
        return _crop(grad_pad, padding, shape), None, None, None, None, None


def _adaptive_windows(size, out):
    """(i, j), rows, cols of each output pixel of an adaptive pool from `size` (H, W) to `out` (oh, ow)."""
    def span(k, total, parts):
        return slice(k * total // parts, math.ceil((k + 1) * total / parts))
    for i in range(out[0]):
        for j in range(out[1]):
            yield (i, j), span(i, size[0], out[0]), span(j, size[1], out[1])


class TextbookAdaptiveAvgPool2d(TextbookFunction):
    op = "adaptive_avg_pool2d"

    def forward(self, x, out):
        xp = backend.get_array_module(x)
        y = xp.empty((*x.shape[:2], *out), dtype=x.dtype)
        for (i, j), rows, cols in _adaptive_windows(x.shape[2:], out):
            y[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
        self.args = (x.shape, out)
        return y

    def backward(self, grad):
        shape, out = self.args
        xp = backend.get_array_module(grad)
        grad_x = xp.zeros(shape, grad.dtype)
        for (i, j), rows, cols in _adaptive_windows(shape[2:], out):
            count = (rows.stop - rows.start) * (cols.stop - cols.start)
            grad_x[:, :, rows, cols] += (grad[:, :, i, j] / count)[:, :, None, None]
        return grad_x, None
