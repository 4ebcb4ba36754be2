"""Layout helpers shared by the conv paths: NCHW <-> NHWC views, zero-padded NHWC copies, strided windows.

The conv ops compute in NHWC (channels last): a pixel's channels are then contiguous, so the windows of
im2col and the tiles of Winograd copy as runs of C values, and their GEMMs contract over C directly.
The API stays NCHW: results are handed back as NCHW-shaped *views* of NHWC memory (what PyTorch calls
the channels_last memory format). Elementwise ops keep those strides, so the next conv usually finds
its input already channels-last and `to_nhwc` costs nothing.
"""
from .. import backend
from ._conv_scratch import scratch


def to_nhwc(array):
    """(N, C, H, W) -> an (N, H, W, C) view, never a copy."""
    return array.transpose(0, 2, 3, 1)


def to_nchw(array):
    """(N, H, W, C) -> an (N, C, H, W) view, never a copy."""
    return array.transpose(0, 3, 1, 2)


def strided(array, shape, strides):
    """A view of `array` with the given shape and byte strides (NumPy's or CuPy's as_strided)."""
    if backend.device_of(array) == "cuda":
        from cupy.lib.stride_tricks import as_strided
    else:
        from numpy.lib.stride_tricks import as_strided
    return as_strided(array, shape=shape, strides=strides)


def padded_nhwc(x_nhwc, top, left, height, width, slot):
    """Copy x (N, H, W, C) into a zero-bordered (N, height, width, C) scratch `slot` at row `top`, column `left`.

    Only the border strips are zeroed; the interior is written once by the copy.
    """
    xp = backend.get_array_module(x_nhwc)
    n, h, w, c = x_nhwc.shape
    if (top, left, height, width) == (0, 0, h, w):
        return x_nhwc
    out = scratch(slot, (n, height, width, c), x_nhwc.dtype, xp)
    out[:, :top] = 0
    out[:, top + h:] = 0
    out[:, top:top + h, :left] = 0
    out[:, top:top + h, left + w:] = 0
    out[:, top:top + h, left:left + w] = x_nhwc
    return out
