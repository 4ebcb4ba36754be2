"""Any conv2d (stride, padding, dilation, groups) as im2col + one GEMM per group, in NHWC.

im2col lays every receptive field out as one row: cols[(n, i, j), (u, v, c)] = x[n, i*s + u*d, j*s + v*d, c].
In NHWC the windows are a strided *view* of the padded input (no loop), and one reshape-copy turns them
into the (N*Ho*Wo, kh*kw*C) matrix; then y = cols @ w is a single GEMM. With groups, channels split
into `groups` independent blocks and the GEMM becomes a batch of `groups` GEMMs.

Backward reuses the same matrices: grad_w = grad_y^T @ cols (cols kept from forward, no second im2col).
For stride 1 the input gradient is itself a convolution (of grad_y with the flipped kernel), so it runs
through forward again; otherwise grad_cols = grad_y @ w^T is folded back into the image by col2im, as
kh*kw strided slice-adds, one per kernel offset (never np.add.at, which is unbuffered and far slower).
"""
from .. import backend
from ._conv_layout import padded_nhwc, strided
from ._conv_scratch import scratch


class Geometry:
    """Sizes of one conv: input, kernel, output, padding, groups."""

    def __init__(self, x_nhwc_shape, weight_shape, stride, pads, dilation, groups):
        self.n, self.h, self.w, self.c = x_nhwc_shape
        self.o, self.cg, self.kh, self.kw = weight_shape
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.top, self.bottom, self.left, self.right = pads
        self.hp, self.wp = self.h + self.top + self.bottom, self.w + self.left + self.right
        self.ho = (self.hp - dilation[0] * (self.kh - 1) - 1) // stride[0] + 1
        self.wo = (self.wp - dilation[1] * (self.kw - 1) - 1) // stride[1] + 1
        self.rows = self.n * self.ho * self.wo          # GEMM M
        self.depth = self.kh * self.kw * self.cg         # GEMM K (per group)
        # A 1x1, stride-1, unpadded conv is already a GEMM on the input: cols is x itself.
        self.pointwise = (self.kh, self.kw, self.hp, self.wp) == (1, 1, self.h, self.w) and stride == (1, 1)

    def window(self, u, v):
        """The (rows, cols) slices of the padded image that kernel offset (u, v) touches."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return (slice(u * dh, u * dh + sh * (self.ho - 1) + 1, sh),
                slice(v * dw, v * dw + sw * (self.wo - 1) + 1, sw))


def _weight_matrix(weight, geo):
    """(O, C/g, kh, kw) -> (groups, kh*kw*C/g, O/g), matching the column order (u, v, c) of cols."""
    g = geo.groups
    w = weight.reshape(g, geo.o // g, geo.cg, geo.kh, geo.kw).transpose(0, 3, 4, 2, 1)
    return w.reshape(g, geo.depth, geo.o // g)


def _im2col(x_nhwc, geo, keep):
    """cols (groups, N*Ho*Wo, kh*kw*C/g); a fresh array when kept for backward, else scratch."""
    xp = backend.get_array_module(x_nhwc)
    g = geo.groups
    if geo.pointwise and g == 1:
        return x_nhwc.reshape(1, geo.rows, geo.c)  # a view when x is channels-last, else one copy
    xpad = padded_nhwc(x_nhwc, geo.top, geo.left, geo.hp, geo.wp, "im2col.pad")
    s = xpad.strides
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    windows = strided(xpad, (g, geo.n, geo.ho, geo.wo, geo.kh, geo.kw, geo.cg),
                      (geo.cg * s[3], s[0], sh * s[1], sw * s[2], dh * s[1], dw * s[2], s[3]))
    shape = (g, geo.rows, geo.depth)
    cols = xp.empty(shape, x_nhwc.dtype) if keep else scratch("im2col.cols", shape, x_nhwc.dtype, xp)
    cols.reshape(windows.shape)[...] = windows
    return cols


def forward(x_nhwc, weight, stride, pads, dilation, groups, keep_cols):
    """y (N, Ho, Wo, O) and what backward needs: (cols or None, weight, geometry)."""
    xp = backend.get_array_module(x_nhwc)
    geo = Geometry(x_nhwc.shape, weight.shape, stride, pads, dilation, groups)
    cols = _im2col(x_nhwc, geo, keep_cols)
    y = xp.matmul(cols, _weight_matrix(weight, geo))  # (groups, M, O/g)
    y = y[0] if groups == 1 else xp.ascontiguousarray(y.transpose(1, 0, 2))
    return y.reshape(geo.n, geo.ho, geo.wo, geo.o), (cols if keep_cols else None, weight, geo)


def backward(grad_nhwc, saved, need_input, need_weight):
    """(grad_x (N, H, W, C) or None, grad_weight (O, C/g, kh, kw) or None)."""
    cols, weight, geo = saved
    xp = backend.get_array_module(grad_nhwc)
    g = geo.groups
    grad_y = grad_nhwc.reshape(geo.rows, g, geo.o // g).transpose(1, 0, 2)  # (groups, M, O/g)
    grad_w = grad_x = None
    if need_weight:
        grad_w = xp.matmul(grad_y.transpose(0, 2, 1), cols)  # (groups, O/g, K)
        grad_w = xp.ascontiguousarray(grad_w.reshape(geo.o, geo.kh, geo.kw, geo.cg).transpose(0, 3, 1, 2))
    if need_input:
        reach_h, reach_w = (geo.kh - 1) * geo.dilation[0], (geo.kw - 1) * geo.dilation[1]
        full = (reach_h - geo.top, reach_h - geo.bottom, reach_w - geo.left, reach_w - geo.right)
        if geo.pointwise and g == 1:
            w = _weight_matrix(weight, geo)[0]
            grad_x = xp.matmul(grad_y[0], w.T).reshape(geo.n, geo.h, geo.w, geo.c)
        elif geo.stride == (1, 1) and min(full) >= 0:
            grad_x = _input_grad_by_conv(grad_nhwc, weight, geo, full)
        else:
            grad_x = _input_grad_col2im(grad_y, weight, geo)
    return grad_x, grad_w


def _input_grad_by_conv(grad_nhwc, weight, geo, pads):
    """Stride 1: grad_x is the "full" convolution of grad_y with the kernel flipped in space and with in/out
    channels swapped, so it reuses forward (one im2col + one GEMM, no scatter)."""
    g, og = geo.groups, geo.o // geo.groups
    flipped = weight.reshape(g, og, geo.cg, geo.kh, geo.kw)[:, :, :, ::-1, ::-1]
    flipped = flipped.transpose(0, 2, 1, 3, 4).reshape(geo.c, og, geo.kh, geo.kw)
    # "full" padding (k - 1) * d - p on each side makes the output exactly H x W again
    grad_x, _ = forward(grad_nhwc, flipped, (1, 1), pads, geo.dilation, g, False)
    return grad_x


def _input_grad_col2im(grad_y, weight, geo):
    """grad_cols = grad_y @ w^T, then col2im: column block (u, v) of every row goes back to the pixels that
    kernel offset (u, v) read, as kh*kw strided slice-adds."""
    xp = backend.get_array_module(grad_y)
    g = geo.groups
    w_t = _weight_matrix(weight, geo).transpose(0, 2, 1)
    grad_cols = scratch("im2col.grad_cols", (g, geo.rows, geo.depth), grad_y.dtype, xp)
    xp.matmul(grad_y, w_t, out=grad_cols)
    grad_cols = grad_cols.reshape(g, geo.n, geo.ho, geo.wo, geo.kh, geo.kw, geo.cg)
    grad_pad = xp.zeros((geo.n, geo.hp, geo.wp, geo.c), grad_y.dtype)
    for u in range(geo.kh):
        for v in range(geo.kw):
            rows, cols = geo.window(u, v)
            # splitting the contiguous channel axis into (groups, C/g) is always a view
            target = grad_pad[:, rows, cols].reshape(geo.n, geo.ho, geo.wo, g, geo.cg)
            target += grad_cols[:, :, :, :, u, v].transpose(1, 2, 3, 0, 4)
    return grad_pad[:, geo.top:geo.top + geo.h, geo.left:geo.left + geo.w]
