"""conv2d on the GPU: the im2col kernel, then one cuBLAS GEMM (cupy.matmul) per product, in NHWC.

forward      y = cols @ W                      (cols: im2col of x; W: the weight as a (kh*kw*C, O) matrix)
backward     grad_x = col2im(grad_y @ W^T),    grad_W = grad_y^T @ cols   (cols rebuilt: memory over one kernel)
No Winograd here: it saves multiplications, which pay on CPU cores; on a GPU one large GEMM is already
fast and the extra transforms would cost launches and memory traffic. With groups, one GEMM per group.
Same interface as _conv_im2col and _conv_winograd, so conv.py only picks the path.
"""
from .. import backend
from ..kernels.im2col import col2im, im2col
from ._conv_im2col import Geometry, _weight_matrix

NAME = "gpu-im2col"  # how the profiler labels this algorithm: conv2d[gpu-im2col]


def _products(a, b):
    """[a[k] @ b[k] for each group k]: one GEMM each."""
    xp = backend.get_array_module(a)
    return [xp.matmul(a[k], b[k]) for k in range(a.shape[0])]


def _stack(blocks, axis):
    """The per-group results stacked along a new axis 0 or 1 (a view for a single group)."""
    first = blocks[0]
    if len(blocks) == 1:
        return first[None] if axis == 0 else first[:, None]
    shape = list(first.shape)
    shape.insert(axis, len(blocks))
    out = backend.get_array_module(first).empty(tuple(shape), first.dtype)
    for k, block in enumerate(blocks):
        out[(slice(None),) * axis + (k,)] = block
    return out


def forward(x_nhwc, weight, stride, pads, dilation, groups, keep_input):
    """y (N, Ho, Wo, O) and what backward needs: (x or None, weight, geometry)."""
    geo = Geometry(x_nhwc, weight.shape, stride, pads, dilation, groups)
    y = _products(im2col(x_nhwc, geo), _weight_matrix(weight, geo))
    return _stack(y, 1).reshape(geo.n, geo.ho, geo.wo, geo.o), (x_nhwc if keep_input else None, weight, geo)


def backward(grad_nhwc, saved, need_input, need_weight):
    """(grad_x (N, H, W, C) or None, grad_weight (O, C/g, kh, kw) or None)."""
    x_nhwc, weight, geo = saved
    g = geo.groups
    grad_y = grad_nhwc.reshape(-1, g, geo.o // g).transpose(1, 0, 2)  # (groups, rows, O/g)
    if g > 1:  # one copy, so that each group's GEMMs read its slice in place (cuBLAS would copy it for each)
        grad_y = backend.get_array_module(grad_y).ascontiguousarray(grad_y)
    grad_x = grad_w = None
    if need_input:
        grad_cols = _products(grad_y, _weight_matrix(weight, geo).transpose(0, 2, 1))
        grad_x = col2im(_stack(grad_cols, 0), geo)
    if need_weight:
        grad_w = _products(grad_y.transpose(0, 2, 1), im2col(x_nhwc, geo))  # (O/g, kh*kw*C/g) per group
        grad_w = _stack(grad_w, 0).reshape(geo.o, geo.kh, geo.kw, geo.cg).transpose(0, 3, 1, 2).copy()
    return grad_x, grad_w
