"""Any conv2d (stride, padding, dilation, groups) as im2col + GEMM, in NHWC.

im2col lays every receptive field out as one row: cols[(n, i, j), (u, v, c)] = x[n, i*s + u*d, j*s + v*d, c].
In NHWC the windows are a strided *view* of the padded input (no loop), and one reshape-copy turns them
into the (N*Ho*Wo, kh*kw*C) matrix; then y = cols @ w is a GEMM. With groups, channels split into
`groups` independent blocks and the GEMM becomes a batch of `groups` GEMMs.

Backward: grad_w = grad_y^T @ cols. For stride 1 the input gradient is itself a convolution (of grad_y
with the flipped kernel), so it runs through the same code; otherwise grad_cols = grad_y @ w^T is folded
back into the image by col2im, as kh*kw strided slice-adds, one per kernel offset (never np.add.at,
which is unbuffered and far slower).

On the CPU the batch is cut into chunks of images whose columns fit in the L2 cache, the chunks run on
all cores (_conv_threads), and each GEMM is cut into row blocks small enough for the BLAS library to run
it in the calling thread (see _conv_winograd.py for why). cols are rebuilt per chunk in backward rather
than kept: 9x less memory for a 3x3 conv, for one more (cache-resident) copy.
"""

from .. import backend
from ._conv_layout import padded_nhwc, strided
from ._conv_scratch import scratch
from ._conv_threads import run_parallel

NAME = "im2col"  # how the profiler labels this algorithm: conv2d[im2col]

CHUNK_BYTES = 2 ** 19      # size of one chunk's column matrix
ONE_THREAD_WORK = 2 ** 19  # multiply-adds per GEMM call below which OpenBLAS stays in the calling thread
MIN_BLOCK_ROWS = 64        # but never cut a GEMM into blocks thinner than this


class Geometry:
    """Sizes of one conv: input, kernel, output, padding, groups, and the chunking of the batch."""

    def __init__(self, x_nhwc, weight_shape, stride, pads, dilation, groups):
        self.n, self.h, self.w, self.c = x_nhwc.shape
        self.o, self.cg, self.kh, self.kw = weight_shape
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.top, self.bottom, self.left, self.right = pads
        self.hp, self.wp = self.h + self.top + self.bottom, self.w + self.left + self.right
        self.ho = (self.hp - dilation[0] * (self.kh - 1) - 1) // stride[0] + 1
        self.wo = (self.wp - dilation[1] * (self.kw - 1) - 1) // stride[1] + 1
        self.depth = self.kh * self.kw * self.cg  # GEMM K (per group)
        # A 1x1, stride-1, unpadded conv is already a GEMM on the input: cols is x itself.
        self.pointwise = (self.kh, self.kw, self.hp, self.wp) == (1, 1, self.h, self.w) and stride == (1, 1)
        self.cpu = backend.device_of(x_nhwc) != "cuda"
        per_image = self.ho * self.wo * self.depth * groups * x_nhwc.itemsize
        self.chunk = max(1, min(self.n, CHUNK_BYTES // per_image) if self.cpu else self.n)

    def chunks(self):
        """(first image, last image + 1) of each chunk."""
        return [(start, min(start + self.chunk, self.n)) for start in range(0, self.n, self.chunk)]

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


def _im2col(x_nhwc, geo):
    """cols (groups, n*Ho*Wo, kh*kw*C/g) of a chunk of n images, in a scratch buffer (or x itself)."""
    xp = backend.get_array_module(x_nhwc)
    g, n = geo.groups, x_nhwc.shape[0]
    if geo.pointwise and g == 1:
        return x_nhwc.reshape(1, n * geo.h * geo.w, geo.c)  # a view when x is channels-last, else one copy
    xpad = padded_nhwc(x_nhwc, geo.top, geo.left, geo.hp, geo.wp, "im2col.padded_input")
    s = xpad.strides
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    windows = strided(xpad, (g, n, geo.ho, geo.wo, geo.kh, geo.kw, geo.cg),
                      (geo.cg * s[3], s[0], sh * s[1], sw * s[2], dh * s[1], dw * s[2], s[3]))
    cols = scratch("im2col.columns", (g, n * geo.ho * geo.wo, geo.depth), x_nhwc.dtype, xp)
    cols.reshape(windows.shape)[...] = windows
    return cols


def _row_blocks(geo, rows, width):
    """Row ranges that cut a (rows, K) @ (K, width) GEMM into calls that stay in the calling thread."""
    size = rows if not geo.cpu else max(MIN_BLOCK_ROWS, ONE_THREAD_WORK // width)
    return [(start, min(start + size, rows)) for start in range(0, rows, size)]


def _gemm(geo, a, b, out):
    """out = a @ b for batched (groups, M, K) @ (groups, K, N), in row blocks."""
    xp = backend.get_array_module(a)
    for start, stop in _row_blocks(geo, a.shape[1], a.shape[2] * b.shape[2]):
        xp.matmul(a[:, start:stop], b, out=out[:, start:stop])
    return out


def _conv_chunk(x_nhwc, w, geo, y):
    """y (n, Ho, Wo, O) = the conv of a chunk x (n, H, W, C) with the weight matrix w, on this thread."""
    g = geo.groups
    cols = _im2col(x_nhwc, geo)
    out = y.reshape(-1, g, geo.o // g).transpose(1, 0, 2)  # (groups, n*Ho*Wo, O/g), a view of y
    _gemm(geo, cols, w, out)


def forward(x_nhwc, weight, stride, pads, dilation, groups, keep_input):
    """y (N, Ho, Wo, O) and what backward needs: (x or None, weight, geometry)."""
    xp = backend.get_array_module(x_nhwc)
    geo = Geometry(x_nhwc, weight.shape, stride, pads, dilation, groups)
    w = _weight_matrix(weight, geo)
    y = xp.empty((geo.n, geo.ho, geo.wo, geo.o), x_nhwc.dtype)
    run_parallel(lambda piece: _conv_chunk(x_nhwc[piece[0]:piece[1]], w, geo, y[piece[0]:piece[1]]), geo.chunks())
    return y, (x_nhwc if keep_input else None, weight, geo)


def backward(grad_nhwc, saved, need_input, need_weight):
    """(grad_x (N, H, W, C) or None, grad_weight (O, C/g, kh, kw) or None)."""
    x_nhwc, weight, geo = saved
    xp = backend.get_array_module(grad_nhwc)
    w = _weight_matrix(weight, geo)
    reach_h, reach_w = (geo.kh - 1) * geo.dilation[0], (geo.kw - 1) * geo.dilation[1]
    full = (reach_h - geo.top, reach_h - geo.bottom, reach_w - geo.left, reach_w - geo.right)
    by_conv = geo.stride == (1, 1) and min(full) >= 0 and not geo.pointwise
    grad_x = None
    if need_input:
        shape = (geo.n, geo.h, geo.w, geo.c) if geo.pointwise or by_conv else (geo.n, geo.hp, geo.wp, geo.c)
        grad_x = (xp.empty if geo.pointwise or by_conv else xp.zeros)(shape, grad_nhwc.dtype)
        flipped = _flipped(grad_nhwc, weight, geo, full) if by_conv else None

    def chunk(piece):
        start, stop = piece
        g, og = geo.groups, geo.o // geo.groups
        grad_y = grad_nhwc[start:stop].reshape(-1, g, og).transpose(1, 0, 2)  # (groups, rows, O/g)
        share = None
        if need_weight:  # this chunk's grad_w = grad_y^T @ cols, summed over row blocks
            cols = _im2col(x_nhwc[start:stop], geo)
            share = sum(xp.matmul(grad_y[:, a:b].transpose(0, 2, 1), cols[:, a:b])
                        for a, b in _row_blocks(geo, cols.shape[1], og * geo.depth))
        if need_input and by_conv:
            _conv_chunk(grad_nhwc[start:stop], flipped[0], flipped[1], grad_x[start:stop])
        elif need_input and geo.pointwise:
            _gemm(geo, grad_y, w.transpose(0, 2, 1), grad_x[start:stop].reshape(-1, g, geo.cg).transpose(1, 0, 2))
        elif need_input:
            _col2im(grad_y, w, geo, grad_x[start:stop])
        return share

    shares = run_parallel(chunk, geo.chunks())
    grad_w = None
    if need_weight:
        grad_w = sum(shares, xp.zeros_like(w.transpose(0, 2, 1)))  # (groups, O/g, K)
        grad_w = grad_w.reshape(geo.o, geo.kh, geo.kw, geo.cg).transpose(0, 3, 1, 2)
        grad_w = xp.ascontiguousarray(grad_w)
    if need_input and not (geo.pointwise or by_conv):
        grad_x = grad_x[:, geo.top:geo.top + geo.h, geo.left:geo.left + geo.w]
    return grad_x, grad_w


def _flipped(grad_nhwc, weight, geo, pads):
    """Stride 1: grad_x is the "full" convolution of grad_y with the kernel flipped in space and with in/out
    channels swapped; the (weight matrix, geometry) of that convolution. "Full" padding (k - 1) * d - p on
    each side makes its output exactly H x W again."""
    g, og = geo.groups, geo.o // geo.groups
    flipped = weight.reshape(g, og, geo.cg, geo.kh, geo.kw)[:, :, :, ::-1, ::-1]
    flipped = flipped.transpose(0, 2, 1, 3, 4).reshape(geo.c, og, geo.kh, geo.kw)
    flip_geo = Geometry(grad_nhwc, flipped.shape, (1, 1), pads, geo.dilation, g)
    return _weight_matrix(flipped, flip_geo), flip_geo


def _col2im(grad_y, w, geo, grad_pad):
    """grad_cols = grad_y @ w^T for a chunk, then col2im into grad_pad (n, Hp, Wp, C): column block (u, v)
    of every row goes back to the pixels that kernel offset (u, v) read, as kh*kw strided slice-adds."""
    xp = backend.get_array_module(grad_y)
    g, n = geo.groups, grad_pad.shape[0]
    grad_cols = scratch("im2col.column_gradients", (g, grad_y.shape[1], geo.depth), grad_y.dtype, xp)
    _gemm(geo, grad_y, w.transpose(0, 2, 1), grad_cols)
    grad_cols = grad_cols.reshape(g, n, geo.ho, geo.wo, geo.kh, geo.kw, geo.cg)
    for u in range(geo.kh):
        for v in range(geo.kw):
            rows, cols = geo.window(u, v)
            # splitting the contiguous channel axis into (groups, C/g) is always a view
            target = grad_pad[:, rows, cols].reshape(n, geo.ho, geo.wo, g, geo.cg)
            target += grad_cols[:, :, :, :, u, v].transpose(1, 2, 3, 0, 4)
