"""Launch batch_norm.cu: training-mode batch norm forward and backward on ChannelView matrices (norm.py)."""
from . import THREADS, function, int32, launch


def _contiguous(m):
    return m if m.flags.c_contiguous else m.copy()


def _layout(view, m):
    return int32(m.size // view.c, view.c, view.spatial, int(view.rows_are_samples))


def forward(view, x, weight, bias, eps):
    """(out, mean, biased var, inv_std, scale = inv_std * weight) for x (N, C, ...); out has x's layout."""
    xp, c = view.xp, view.c
    m = _contiguous(view.matrix(x))
    mean, var, inv_std, scale = (xp.empty(c, x.dtype) for _ in range(4))
    weight = _or_filled(xp, weight, c, 1, x.dtype)
    bias = _or_filled(xp, bias, c, 0, x.dtype)
    count, channels, spatial, channels_last = _layout(view, m)
    function("batch_norm", "batch_statistics", m)(
        (c,), (THREADS,), (m, count, channels, spatial, channels_last, weight, x.dtype.type(eps), mean, var,
                           inv_std, scale))
    out = xp.empty_like(m)
    launch(function("batch_norm", "batch_norm_forward", m), m.size,
           (m, mean, scale, bias, *int32(m.size), channels, spatial, channels_last, out))
    return view.array(out), mean, var, inv_std, scale


def backward(view, grad, x, mean, inv_std, scale, need_x):
    """(g_x or None, g_weight, g_bias) of training-mode batch norm; g_x has x's layout."""
    xp, c = view.xp, view.c
    g, m = _contiguous(view.matrix(grad)), _contiguous(view.matrix(x))
    g_bias, g_centred, g_weight = (xp.empty(c, x.dtype) for _ in range(3))
    count, channels, spatial, channels_last = _layout(view, m)
    function("batch_norm", "batch_norm_backward_sums", m)(
        (c,), (THREADS,), (g, m, mean, inv_std, count, channels, spatial, channels_last, g_bias, g_centred, g_weight))
    g_x = None
    if need_x:
        g_x = xp.empty_like(m)
        launch(function("batch_norm", "batch_norm_backward", m), m.size,
               (g, m, mean, inv_std, scale, g_bias, g_centred, *int32(m.size), channels, spatial, channels_last, g_x))
        g_x = view.array(g_x)
    return g_x, g_weight, g_bias


def update_running_stats(running_mean, running_var, stats, momentum, count):
    """The NumPy twin's update of both running buffers (same dtype as the statistics) in one launch."""
    real = running_mean.dtype.type
    launch(function("batch_norm", "update_running_stats", running_mean), running_mean.size,
           (running_mean, running_var, stats["mean"], stats["var"], *int32(running_mean.size), real(1 - momentum),
            real(momentum), real(momentum * count / (count - 1))))


def _or_filled(xp, vector, size, value, dtype):
    """vector, or a (size,) array of `value` standing in for a missing affine parameter."""
    if vector is not None:
        return vector
    filled = xp.empty(size, dtype)
    filled.fill(value)
    return filled
