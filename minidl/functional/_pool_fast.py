"""Pooling on the fast path: no loop over images or pixels.

The values that every window reads at kernel offset (u, v) form one strided slice of the (padded) input, so a
loop over the kh*kw offsets of whole-array ops pools all windows at once, forward and backward, in the input's
memory layout (channels-last views from conv2d included); on the GPU, CUDA kernels. minidl/fast.py plugs these
into the seams "max_pool2d", "avg_pool2d" and "adaptive_avg_pool2d"; they compute what functional/textbook/pool.py
computes (tests/functional/test_textbook_ops.py).
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..kernels import pool as pool_kernels
from ._channels import is_channels_last
from ._util import raw


def _offsets(kernel, stride, out):
    """For each kernel offset (u, v): the (rows, cols) slices of the padded input it reads, row-major order."""
    for u in range(kernel[0]):
        for v in range(kernel[1]):
            yield (slice(u, u + stride[0] * (out[0] - 1) + 1, stride[0]),
                   slice(v, v + stride[1] * (out[1] - 1) + 1, stride[1]))


def _full(xp, shape, value, dtype, channels_last):
    """xp.full(shape (N, C, H, W), value) (uninitialised for value None), laid out channels-last when asked."""
    make = xp.empty if value is None else lambda s, dtype: xp.full(s, value, dtype=dtype)
    if not channels_last:
        return make(shape, dtype=dtype)
    n, c, h, w = shape
    return make((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def _padded(x, padding, value):
    """x surrounded by `padding` rows/cols of `value` (x itself when there is no padding)."""
    if padding == (0, 0):
        return x
    n, c, h, w = x.shape
    (ph, pw) = padding
    out = _full(backend.get_array_module(x), (n, c, h + 2 * ph, w + 2 * pw), value, x.dtype, is_channels_last(x))
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _grad_buffer(xp, geometry, dtype):
    """Zeros of the padded input's shape and layout, for the input gradient to be accumulated in."""
    shape, _, _, padding, _, channels_last = geometry
    padded = (shape[0], shape[1], shape[2] + 2 * padding[0], shape[3] + 2 * padding[1])
    return _full(xp, padded, 0, dtype, channels_last)


def _crop(padded, padding, shape):
    ph, pw = padding
    return padded[:, :, ph:ph + shape[2], pw:pw + shape[3]]


class FastMaxPool2d(Function):
    def forward(self, x, kernel, stride, padding, out):
        xp = backend.get_array_module(x)
        self.geometry = (x.shape, kernel, stride, padding, out, is_channels_last(x))
        if xp is not np:  # GPU: one kernel (minidl/kernels/pool.cu) instead of about 5 per tap
            best, index = pool_kernels.max_pool2d_forward(x, kernel, stride, padding, out, is_channels_last(x))
            self.save_for_backward(index)
            return best
        xpad = _padded(x, padding, -xp.inf)
        best = index = None
        for k, (rows, cols) in enumerate(_offsets(kernel, stride, out)):
            values = xpad[:, :, rows, cols]
            if best is None:
                best = xp.empty_like(values)  # same strides as the input slice
                best[...] = values
                index = xp.zeros_like(best, dtype=xp.uint8 if kernel[0] * kernel[1] <= 256 else xp.int32)
                continue
            # Strictly larger keeps the first maximum of a window on ties; a NaN wins and then stays (PyTorch).
            wins = values > best
            wins |= xp.isnan(values)
            xp.copyto(best, values, where=wins)
            xp.copyto(index, k, where=wins)
        self.save_for_backward(index)
        return best

    def backward(self, grad):
        (index,) = self.saved
        shape, kernel, stride, padding, out, _ = self.geometry
        xp = backend.get_array_module(grad)
        if xp is not np:
            grad_x = pool_kernels.max_pool2d_backward(grad, index, shape, kernel, stride, padding, self.geometry[5])
            return grad_x, None, None, None, None
        gpad = _grad_buffer(xp, self.geometry, grad.dtype)
        for k, (rows, cols) in enumerate(_offsets(kernel, stride, out)):
            target = gpad[:, :, rows, cols]
            target += grad * (index == k)  # float * bool stays float; += accumulates overlapping windows
        return _crop(gpad, padding, shape), None, None, None, None


class FastAvgPool2d(Function):
    def forward(self, x, kernel, stride, padding, out, count_include_pad):
        xp = backend.get_array_module(x)
        xpad = _padded(x, padding, 0)
        self.geometry = (x.shape, kernel, stride, padding, out, is_channels_last(x))
        total = None
        for rows, cols in _offsets(kernel, stride, out):
            if total is None:
                total = xp.empty_like(xpad[:, :, rows, cols])
                total[...] = xpad[:, :, rows, cols]
            else:
                total += xpad[:, :, rows, cols]
        if count_include_pad or padding == (0, 0):
            self.divisor = kernel[0] * kernel[1]
        else:  # how many real (unpadded) pixels each window covers: pool a padded 0/1 image the same way
            inside = _padded(xp.ones((1, 1) + x.shape[2:], x.dtype), padding, 0)
            self.divisor = sum(inside[:, :, rows, cols] for rows, cols in _offsets(kernel, stride, out))
        total /= self.divisor
        return total

    def backward(self, grad):
        shape, kernel, stride, padding, out, _ = self.geometry
        xp = backend.get_array_module(grad)
        share = grad / self.divisor
        gpad = _grad_buffer(xp, self.geometry, grad.dtype)
        for rows, cols in _offsets(kernel, stride, out):
            target = gpad[:, :, rows, cols]
            target += share
        return _crop(gpad, padding, shape), None, None, None, None, None


class FastGlobalAvgPool2d(Function):
    """adaptive_avg_pool2d(x, 1): a plain mean over H and W; its gradient spreads evenly over the image."""

    def forward(self, x):
        self.shape, self.channels_last = x.shape, is_channels_last(x)
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        out = _full(xp, self.shape, None, grad.dtype, self.channels_last)
        out[...] = grad / (self.shape[2] * self.shape[3])
        return (out,)


class FastAdaptiveAvgPool2d(Function):
    """y = P_h x P_w^T with averaging matrices: row i of P_h is 1/len over rows [floor(iH/oh), ceil((i+1)H/oh))."""

    def forward(self, x, rows, cols):
        self.rows, self.cols, self.channels_last = rows, cols, is_channels_last(x)
        return rows @ x @ cols.T

    def backward(self, grad):
        grad_x = self.rows.T @ grad @ self.cols
        if self.channels_last:  # hand the gradient back in the input's layout
            same_layout = _full(backend.get_array_module(grad), grad_x.shape, None, grad_x.dtype, True)
            same_layout[...] = grad_x
            grad_x = same_layout
        return grad_x, None, None


def _averaging_matrix(xp, size, out, dtype):
    """(out, size) matrix whose row i averages input positions floor(i*size/out) .. ceil((i+1)*size/out)-1."""
    i = xp.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    position = xp.arange(size)
    inside = (position >= start[:, None]) & (position < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, size):
    """adaptive_avg_pool2d to the checked (oh, ow): a plain mean for (1, 1), else two averaging matrices."""
    if size == (1, 1):
        return FastGlobalAvgPool2d.apply(input)
    x = raw(input)
    xp = backend.get_array_module(x)
    rows = _averaging_matrix(xp, x.shape[2], size[0], x.dtype)
    cols = _averaging_matrix(xp, x.shape[3], size[1], x.dtype)
    return FastAdaptiveAvgPool2d.apply(input, rows, cols)
