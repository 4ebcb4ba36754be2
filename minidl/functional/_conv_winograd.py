"""3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray, CVPR 2016).

Direct convolution spends 9 multiply-adds per output pixel and channel pair. Winograd cuts the image
into 6x6 input tiles (overlapping by 2) that produce 4x4 output tiles, and maps each tile and each 3x3
filter into a 6x6 "transform domain" where the convolution becomes an elementwise product:

    y_tile = A^T [ (G g G^T) * (B^T d B) ] A          (* elementwise, summed over input channels)

The 36 elementwise products, summed over channels, are 36 independent GEMMs of shape (tiles, C) @ (C, O):
36 products for 16 outputs instead of 144, so the GEMM work drops 4x. The transforms are small linear
maps applied to all tiles at once by GEMMs (see tile_transform). The backward pass is the same linear
maps transposed, so gradients are exact, not approximate.
In float32 the result differs from the exact one by a few 1e-6 of the output's largest value, about 10x the
rounding of direct convolution (tested to 1e-5); float64 stays exact. So, like any float32 conv but more
often, it can put a value within rounding of 0 on the other side of a following ReLU than float64 does:
that pixel's gradient then passes in one and is blocked in the other (tests/models/test_float32_gradients.py).

Layout: tile index (a, b) first, then (N, tile_row, tile_col), then channels: every GEMM is contiguous.
"""
import math

from .. import backend
from ._conv_layout import padded_nhwc, strided
from ._conv_scratch import scratch
from ._conv_threads import run_parallel

NAME = "winograd"  # how the profiler labels this algorithm: conv2d[winograd]

OUT = 4   # output tile side m
TILE = 6  # input tile side m + r - 1 for the 3x3 filter (r = 3)

# Interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2016, section 4.2).
B_T = [[4, 0, -5, 0, 1, 0],
       [0, -4, -4, 1, 1, 0],
       [0, 4, -4, -1, 1, 0],
       [0, -2, -1, 2, 1, 0],
       [0, 2, -1, -2, 1, 0],
       [0, 4, 0, -5, 0, 1]]
G = [[1 / 4, 0, 0],
     [-1 / 6, -1 / 6, -1 / 6],
     [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6],
     [1 / 24, -1 / 12, 1 / 6],
     [0, 0, 1]]
A_T = [[1, 1, 1, 1, 1, 0],
       [0, 1, -1, 2, -2, 0],
       [0, 1, 1, 4, 4, 0],
       [0, 1, -1, 8, -8, 1]]

_matrices = {}


def transforms(xp, dtype):
    """(B^T, A^T, G) as arrays of `dtype` on the device of `xp` (cached)."""
    key = (backend.device_key(xp), str(dtype))
    if key not in _matrices:
        _matrices[key] = tuple(xp.asarray(m, dtype=dtype) for m in (B_T, A_T, G))
    return _matrices[key]


def tile_transform(xp, mat, tiles, out):
    """out[i, j] = sum over a, b of mat[i, a] mat[j, b] tiles[a, b], i.e. mat @ tile @ mat^T for every tile.

    tiles is (p, p, X) with all tiles and channels along X, out is (r, r, X). The map is separable: rows
    then columns, each a batch of p (then r) small GEMMs with the (r, p) matrix. That is 3x fewer
    multiply-adds than one GEMM with the Kronecker product mat (x) mat, and measured faster.
    """
    r, p, x = mat.shape[0], mat.shape[1], tiles.shape[2]
    rows = scratch("winograd.half_transformed", (r, p, x), tiles.dtype, xp)
    xp.matmul(mat, tiles.transpose(1, 0, 2), out=rows.transpose(1, 0, 2))  # rows[i, b] = sum_a mat[i, a] tiles[a, b]
    xp.matmul(mat, rows, out=out)                                          # out[i, j] = sum_b mat[j, b] rows[i, b]
    return out


def applicable(weight_shape, stride, dilation, groups, dtype):
    """True for the convs this path handles: 3x3 kernels, stride 1, dilation 1, no groups, float32/64.

    (The transforms scale values by up to ~100, too much for float16's 3 significant digits.)
    """
    return (weight_shape[2:] == (3, 3) and stride == (1, 1) and dilation == (1, 1) and groups == 1
            and dtype.itemsize >= 4)


# On the CPU, images are processed in chunks whose transform-domain blocks (36 x tiles x channels) stay
# near CHUNK_BYTES, and the chunks run on all cores (_conv_threads). Two reasons, both measured (see
# benchmarks/README.md): the transforms are several passes over a block, and passes over a block that
# fits in the core's L2 cache run faster than passes over the whole batch; and GEMMs this small run in
# the calling thread (OpenBLAS splits a GEMM over its own threads only above ~500k multiply-adds, and
# that hand-off costs milliseconds per call when other processes keep the cores busy), so the only
# threads are ours, one per core. On the GPU the whole batch is one chunk.
CHUNK_BYTES = 2 ** 19
MIN_CHUNK_TILES = 64  # but keep enough tiles (GEMM rows) per chunk for efficient GEMMs


class TileGrid:
    """Sizes of one Winograd conv: image, output, tile grid, and the chunking of the batch."""

    def __init__(self, x_nhwc, out_channels, pads):
        self.n, self.h, self.w, self.c = x_nhwc.shape
        self.o = out_channels
        self.top, bottom, self.left, right = pads
        self.ho, self.wo = self.h + self.top + bottom - 2, self.w + self.left + right - 2
        self.th, self.tw = math.ceil(self.ho / OUT), math.ceil(self.wo / OUT)
        self.tiles = self.n * self.th * self.tw
        self.even = self.ho == OUT * self.th and self.wo == OUT * self.tw
        per_image = self.th * self.tw
        if backend.device_of(x_nhwc) == "cuda":
            self.chunk = max(1, self.n)
        else:
            fit = CHUNK_BYTES // (TILE * TILE * per_image * max(self.c, self.o) * x_nhwc.itemsize)
            self.chunk = max(1, min(self.n, max(fit, math.ceil(MIN_CHUNK_TILES / per_image))))

    def chunks(self):
        """(first image, last image + 1, first tile, last tile + 1) of each chunk."""
        per_image = self.th * self.tw
        for start in range(0, self.n, self.chunk):
            stop = min(start + self.chunk, self.n)
            yield start, stop, start * per_image, stop * per_image

    def rows(self, a):
        """How many output rows a, a + 4, a + 8, ... exist (the same for columns below)."""
        return math.ceil((self.ho - a) / OUT)

    def cols(self, b):
        return math.ceil((self.wo - b) / OUT)


def filter_transform(xp, weight, g):
    """U = G w G^T for every filter, as (36, C, O). Two tensordots (one GEMM each), not O*C tiny matmuls."""
    o, c = weight.shape[:2]
    half = xp.tensordot(weight, g, axes=([3], [1]))                  # (O, C, 3, 6) = w G^T
    u = xp.tensordot(g, half, axes=([1], [2])).transpose(0, 3, 2, 1)  # (6, O, C, 6) -> (6, 6, C, O)
    return xp.ascontiguousarray(u).reshape(TILE * TILE, c, o)


def filter_transform_adjoint(xp, du, g):
    """The weight gradient G^T dU G, as (O, C, 3, 3), from dU (36, C, O)."""
    c, o = du.shape[1:]
    half = xp.tensordot(du.reshape(TILE, TILE, c, o), g, axes=([1], [0]))  # (6, C, O, 3)
    return xp.ascontiguousarray(xp.tensordot(g, half, axes=([0], [0])).transpose(2, 1, 0, 3))


def input_tiles(xp, x_nhwc, geo, b_t, out):
    """V = B^T d B for the 6x6 tiles d of a chunk of images x (n, H, W, C), written to out (6, 6, tiles*C)."""
    n, c, th, tw = x_nhwc.shape[0], geo.c, geo.th, geo.tw
    # Pad to a whole number of tiles, view the 6x6 tiles at stride 4 (no copy), copy them out once.
    xpad = padded_nhwc(x_nhwc, geo.top, geo.left, OUT * th + 2, OUT * tw + 2, "winograd.padded_input")
    s = xpad.strides
    d = scratch("winograd.input_tiles", (TILE, TILE, n * th * tw * c), x_nhwc.dtype, xp)
    d.reshape(TILE, TILE, n, th, tw, c)[...] = strided(
        xpad, (TILE, TILE, n, th, tw, c), (s[1], s[2], s[0], OUT * s[1], OUT * s[2], s[3]))
    return tile_transform(xp, b_t, d, out)


def output_image(xp, m, geo, a_t, y):
    """Y = A^T M A for a chunk's products m (36, tiles, O); the 4x4 tiles go into y (n, Ho, Wo, O)."""
    n, o, th, tw = y.shape[0], geo.o, geo.th, geo.tw
    y_tiles = scratch("winograd.output_tiles", (OUT, OUT, n * th * tw * o), y.dtype, xp)
    tile_transform(xp, a_t, m.reshape(TILE, TILE, -1), y_tiles)
    y_tiles = y_tiles.reshape(OUT, OUT, n, th, tw, o)
    if geo.even:  # one copy: (a, b, n, i, j, o) -> (n, i, a, j, b, o) is exactly image order
        y.reshape(n, th, OUT, tw, OUT, o)[...] = y_tiles.transpose(2, 3, 0, 4, 1, 5)
    else:
        for a in range(OUT):
            for b in range(OUT):
                y[:, a::OUT, b::OUT] = y_tiles[a, b, :, :geo.rows(a), :geo.cols(b)]


def output_grad_tiles(xp, grad_nhwc, geo, a_t):
    """dM = A dY A^T (36, tiles, O) from a chunk of the output gradient (zero where tiles overhang)."""
    n, o, th, tw = grad_nhwc.shape[0], geo.o, geo.th, geo.tw
    dy = scratch("winograd.output_tiles", (OUT, OUT, n, th, tw, o), grad_nhwc.dtype, xp)
    if geo.even:
        dy.transpose(2, 3, 0, 4, 1, 5)[...] = grad_nhwc.reshape(n, th, OUT, tw, OUT, o)
    else:
        dy[...] = 0
        for a in range(OUT):
            for b in range(OUT):
                dy[a, b, :, :geo.rows(a), :geo.cols(b)] = grad_nhwc[:, a::OUT, b::OUT]
    dm = scratch("winograd.products", (TILE, TILE, n * th * tw * o), grad_nhwc.dtype, xp)
    tile_transform(xp, a_t.T, dy.reshape(OUT, OUT, -1), dm)
    return dm.reshape(TILE * TILE, n * th * tw, o)


def add_input_tiles(xp, dv, geo, b_t, grad_pad):
    """dd = B dV B^T, then add each 6x6 tile back where it was read from, into grad_pad (n, 4th+4, 4tw+4, C)."""
    n, c, th, tw = grad_pad.shape[0], geo.c, geo.th, geo.tw
    dd = scratch("winograd.input_tiles", (TILE, TILE, n * th * tw * c), dv.dtype, xp)
    tile_transform(xp, b_t.T, dv.reshape(TILE, TILE, -1), dd)
    tiles = dd.reshape(TILE, TILE, n, th, tw, c).transpose(2, 3, 0, 4, 1, 5)  # (n, i, a, j, b, c)
    image = grad_pad.reshape(n, th + 1, OUT, tw + 1, OUT, c)                   # pixel (4i + a, 4j + b)
    # Tile offsets 0-3 land in the tile's own 4x4 block, offsets 4-5 in the first rows/columns of the next
    # block. Tiles overlap, but within each of these four groups they do not: four slice-adds, not 36.
    image[:, :th, :, :tw, :] += tiles[:, :, :OUT, :, :OUT]
    image[:, 1:, :2, :tw, :] += tiles[:, :, OUT:, :, :OUT]
    image[:, :th, :, 1:, :2] += tiles[:, :, :OUT, :, OUT:]
    image[:, 1:, :2, 1:, :2] += tiles[:, :, OUT:, :, OUT:]


def forward(x_nhwc, weight, pads, keep_tiles):
    """y (N, Ho, Wo, O) of a 3x3 stride-1 conv; also (V, U, geometry) for backward.

    V, the transformed input tiles (6, 6, tiles * C), is kept only when the weight gradient will be needed.
    """
    xp = backend.get_array_module(x_nhwc)
    dtype = x_nhwc.dtype
    geo = TileGrid(x_nhwc, weight.shape[0], pads)
    c, o = geo.c, geo.o
    b_t, a_t, g = transforms(xp, dtype)
    u = filter_transform(xp, weight, g)  # (36, C, O)
    v_all = xp.empty((TILE, TILE, geo.tiles * c), dtype) if keep_tiles else None
    y = xp.empty((geo.n, geo.ho, geo.wo, o), dtype)

    def chunk(piece):
        start, stop, first, last = piece
        shape = (TILE, TILE, (last - first) * c)
        v = v_all[:, :, first * c:last * c] if keep_tiles else scratch("winograd.transformed_input", shape, dtype, xp)
        input_tiles(xp, x_nhwc[start:stop], geo, b_t, v)
        m = scratch("winograd.products", (TILE * TILE, last - first, o), dtype, xp)
        xp.matmul(v.reshape(TILE * TILE, last - first, c), u, out=m)  # the 36 GEMMs (tiles, C) @ (C, O)
        output_image(xp, m, geo, a_t, y[start:stop])

    run_parallel(chunk, geo.chunks())
    return y, (v_all, u, geo)


def backward(grad_nhwc, saved, need_input, need_weight):
    """(grad_x (N, H, W, C) or None, grad_weight (O, C, 3, 3) or None) from the output gradient."""
    v_all, u, geo = saved
    xp = backend.get_array_module(grad_nhwc)
    dtype = grad_nhwc.dtype
    c = geo.c
    b_t, a_t, g = transforms(xp, dtype)
    grad_pad = xp.zeros((geo.n, OUT * geo.th + OUT, OUT * geo.tw + OUT, c), dtype) if need_input else None

    def chunk(piece):
        start, stop, first, last = piece
        dm = output_grad_tiles(xp, grad_nhwc[start:stop], geo, a_t)  # (36, tiles, O)
        du = None
        if need_weight:  # this chunk's share of dU = V^T dM
            v = v_all[:, :, first * c:last * c].reshape(TILE * TILE, last - first, c)
            du = xp.matmul(v.transpose(0, 2, 1), dm)
        if need_input:  # dV = dM U^T, then back to image space
            dv = scratch("winograd.transformed_input", (TILE * TILE, last - first, c), dtype, xp)
            xp.matmul(dm, u.transpose(0, 2, 1), out=dv)
            add_input_tiles(xp, dv, geo, b_t, grad_pad[start:stop])
        return du

    shares = run_parallel(chunk, geo.chunks())
    grad_w = filter_transform_adjoint(xp, sum(shares, xp.zeros_like(u)), g) if need_weight else None
    grad_x = grad_pad[:, geo.top:geo.top + geo.h, geo.left:geo.left + geo.w] if need_input else None
    return grad_x, grad_w
