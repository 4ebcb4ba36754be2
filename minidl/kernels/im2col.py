"""Launch im2col.cu: the column matrix of conv2d and its adjoint (used by functional/_conv_gpu.py)."""
from .. import backend
from . import check_reach, element_strides, function, int32, launch


def _sizes(geo):
    return (geo.n, geo.h, geo.w, geo.c, geo.groups, geo.ho, geo.wo, geo.kh, geo.kw, *geo.stride, *geo.dilation,
            geo.top, geo.left)


def im2col(x_nhwc, geo):
    """cols (groups, N*Ho*Wo, kh*kw*C/g) of x (N, H, W, C, any strides) for the conv geometry `geo`."""
    xp = backend.get_array_module(x_nhwc)
    shape = (geo.groups, geo.n * geo.ho * geo.wo, geo.depth)
    check_reach("conv2d (im2col)", input=x_nhwc, columns=shape)
    cols = xp.empty(shape, x_nhwc.dtype)
    launch(function("im2col", "im2col", x_nhwc), cols.size,
           (x_nhwc, *int32(*element_strides(x_nhwc), *_sizes(geo)), cols))
    return cols


def col2im(grad_cols, geo):
    """grad_x (N, H, W, C), contiguous: every input pixel summed over the columns that im2col copied it to."""
    xp = backend.get_array_module(grad_cols)
    if not grad_cols.flags.c_contiguous:
        grad_cols = grad_cols.copy()
    shape = (geo.n, geo.h, geo.w, geo.c)
    check_reach("conv2d (col2im)", input_gradient=shape)  # grad_cols is read with 64-bit offsets
    grad_x = xp.empty(shape, grad_cols.dtype)
    launch(function("im2col", "col2im", grad_cols), grad_x.size, (grad_cols, *int32(*_sizes(geo)), grad_x))
    return grad_x
