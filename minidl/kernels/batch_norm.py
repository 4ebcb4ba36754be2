"""Launch batch_norm.cu: training-mode batch norm forward and backward on ChannelView matrices (norm.py).

Operands in other dtypes are cast before a launch, to the dtypes the NumPy twin's results have: forward
runs in x's dtype (weight and bias cast to it); backward in NumPy's promotion of the gradient's and x's
dtypes (a float64 gradient of float32 data gives float64 weight gradients), g_x in x's, g_bias in grad's.
"""
from . import THREADS, cast, check_reach, function, int32, launch

TARGET_BLOCKS = 1024     # pass-1 blocks of a reduction: 8 per SM of a 132-SM H100, enough for the largest GPUs
MIN_ROWS_PER_THREAD = 4  # but never chunks so short that a thread adds fewer rows than this


class Chunks:
    """How pass 1 of a per-channel reduction cuts a (count x channels) matrix: `lanes` channels side by side
    in a block (channels-last memory; one in NCHW), `groups` of them, and `chunks` runs of `rows` rows."""

    def __init__(self, count, channels, channels_last):
        self.lanes = min(channels, 32) if channels_last else 1
        self.groups = -(-channels // self.lanes)
        in_flight = THREADS // self.lanes  # rows a block reads at once
        longest = -(-count // (in_flight * MIN_ROWS_PER_THREAD))
        self.rows = -(-count // max(1, min(-(-TARGET_BLOCKS // self.groups), longest)))
        self.chunks = -(-count // self.rows)

    def reduce(self, name, inputs, layout, xp, dtype, terms=1):
        """Run pass-1 kernel `name` over (inputs..., layout...): the partial sums, `terms` x channels x chunks."""
        partial = xp.empty(terms * layout[1] * self.chunks, dtype)
        function("batch_norm", name, inputs[0])(
            (self.chunks, self.groups), (THREADS,), (*inputs, *layout, *int32(self.lanes, self.rows), partial))
        return partial


def _contiguous(m):
    return m if m.flags.c_contiguous else m.copy()


def _layout(view, m):
    check_reach("batch_norm", input=m)
    return int32(m.size // view.c, view.c, view.spatial, int(view.rows_are_samples))


def forward(view, x, weight, bias, eps):
    """(out, mean, biased var, inv_std, scale = inv_std * weight) for x (N, C, ...); out has x's layout."""
    xp, c = view.xp, view.c
    m = _contiguous(view.matrix(x))
    weight, bias = cast(m.dtype, _or_filled(xp, weight, c, 1, m.dtype), _or_filled(xp, bias, c, 0, m.dtype))
    layout = _layout(view, m)
    chunks = Chunks(layout[0], c, view.rows_are_samples)
    mean, var, inv_std, scale = (xp.empty(c, m.dtype) for _ in range(4))
    partial = chunks.reduce("sum_chunks", (m,), layout, xp, m.dtype)
    function("batch_norm", "finish_mean", m)((c,), (THREADS,), (partial, *int32(chunks.chunks, layout[0]), mean))
    partial = chunks.reduce("squared_deviation_chunks", (m, mean), layout, xp, m.dtype)
    function("batch_norm", "finish_variance", m)(
        (c,), (THREADS,), (partial, *int32(chunks.chunks, layout[0]), weight, m.dtype.type(eps), var, inv_std, scale))
    out = xp.empty_like(m)
    launch(function("batch_norm", "batch_norm_forward", m), m.size,
           (m, mean, scale, bias, *int32(m.size), *layout[1:], out))
    return view.array(out), mean, var, inv_std, scale


def backward(view, grad, x, mean, inv_std, scale, need_x):
    """(g_x or None, g_weight, g_bias) of training-mode batch norm; g_x has x's layout."""
    xp, c = view.xp, view.c
    g, m = _contiguous(view.matrix(grad)), _contiguous(view.matrix(x))
    dtype = xp.result_type(g, m)
    g, m, mean, inv_std, scale = cast(dtype, g, m, mean, inv_std, scale)
    layout = _layout(view, m)
    chunks = Chunks(layout[0], c, view.rows_are_samples)
    g_bias, g_centred, g_weight = (xp.empty(c, dtype) for _ in range(3))
    partial = chunks.reduce("gradient_chunks", (g, m, mean), layout, xp, dtype, terms=2)
    function("batch_norm", "finish_gradient_sums", m)(
        (c,), (THREADS,), (partial, *int32(chunks.chunks, c), inv_std, g_bias, g_centred, g_weight))
    g_x = None
    if need_x:
        g_x = xp.empty_like(m)
        launch(function("batch_norm", "batch_norm_backward", m), m.size,
               (g, m, mean, inv_std, scale, g_bias, g_centred, *int32(m.size), *layout[1:], g_x))
        g_x = view.array(*cast(x.dtype, g_x))
    return g_x, g_weight, *cast(grad.dtype, g_bias)


def update_running_stats(running_mean, running_var, stats, momentum, count):
    """The NumPy twin's update of both running buffers (one dtype, updated in place) in one launch."""
    if running_var.dtype != running_mean.dtype:
        raise TypeError(f"batch_norm: running_mean ({running_mean.dtype}) and running_var ({running_var.dtype}) "
                        "must have one dtype for the GPU update; convert one of them")
    real = running_mean.dtype.type
    mean, var = cast(running_mean.dtype, stats["mean"], stats["var"])
    launch(function("batch_norm", "update_running_stats", running_mean), running_mean.size,
           (running_mean, running_var, mean, var, *int32(running_mean.size), real(1 - momentum),
            real(momentum), real(momentum * count / (count - 1))))


def _or_filled(xp, vector, size, value, dtype):
    """vector, or a (size,) array of `value` standing in for a missing affine parameter."""
    if vector is not None:
        return vector
    filled = xp.empty(size, dtype)
    filled.fill(value)
    return filled
