"""Batch normalisation over (N, C[, H, W]) with PyTorch's statistics and running-buffer updates.

Training: normalise with the batch mean and the *biased* variance, and move the running buffers toward
the batch mean and the *unbiased* variance by `momentum`. Evaluation: normalise with the running buffers.
"""
from .. import backend
from ..autograd.function import Function
from ._util import raw, require_float


def _per_channel(vector, ndim):
    """Shape (C,) -> (1, C, 1, ...) so it broadcasts over an (N, C, ...) input."""
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_sums(a, b=None):
    """Per-channel sum of a (or of a * b) over an (N, C, ...) array, in whichever memory layout it has.

    NCHW memory: sum each contiguous (n, c) row, then over N. Channels-last memory (what conv2d returns):
    view it as an (N*H*W, C) matrix and sum its columns. Either way no copy is made, which is several
    times faster than NumPy's reduction over the strided axes (0, 2, 3); einsum's products are not
    materialised either.
    """
    xp = backend.get_array_module(a)
    n, c = a.shape[:2]
    if a.ndim > 2 and _channels_last(a) and (b is None or _channels_last(b)):
        columns = (lambda t: xp.moveaxis(t, 1, -1).reshape(-1, c))
        if b is None:
            return xp.einsum("ij->j", columns(a))  # NumPy's .sum(axis=0) is ~10x slower for 16 columns
        return xp.einsum("ij,ij->j", columns(a), columns(b))
    rows = a.reshape(n * c, -1)
    if b is None:
        per_row = rows.sum(axis=1)
    else:
        per_row = xp.einsum("ij,ij->i", rows, b.reshape(n * c, -1))
    return per_row.reshape(n, c).sum(axis=0)


def _channels_last(a):
    """True when moving the channel axis last gives C-contiguous memory (conv2d's output layout)."""
    return backend.get_array_module(a).moveaxis(a, 1, -1).flags.c_contiguous


class BatchNorm(Function):
    """Training mode: normalise with the batch mean and biased variance of each channel."""

    def forward(self, x, weight, bias, eps, stats):
        xp = backend.get_array_module(x)
        count = x.size // x.shape[1]
        stats["mean"] = _channel_sums(x) / count
        x_hat = x - _per_channel(stats["mean"], x.ndim)          # centred input, normalised in place below
        stats["var"] = _channel_sums(x_hat, x_hat) / count       # biased variance (two-pass: no cancellation)
        inv_std = 1 / xp.sqrt(stats["var"] + x.dtype.type(eps))
        x_hat *= _per_channel(inv_std, x.ndim)
        self.save_for_backward(x_hat, inv_std, weight)
        self.has_bias = bias is not None
        return _affine(x_hat, weight, bias)

    def backward(self, grad):
        x_hat, inv_std, weight = self.saved
        ndim, count = grad.ndim, grad.size // grad.shape[1]
        g_bias = _channel_sums(grad)
        g_weight = _channel_sums(grad, x_hat)
        g_x = None
        if self.needs_input_grad[0]:
            # The batch mean and variance depend on every sample, which adds two centring terms:
            #   dx = w * inv_std * (g - mean(g) - x_hat * mean(g * x_hat))     (means over N, H, W)
            scale = inv_std * weight if weight is not None else inv_std
            g_x = x_hat * _per_channel(-g_weight / count, ndim)
            g_x += grad
            g_x -= _per_channel(g_bias / count, ndim)
            g_x *= _per_channel(scale, ndim)
        return (g_x, g_weight if weight is not None else None, g_bias if self.has_bias else None, None, None)


class BatchNormEval(Function):
    """Evaluation mode: the running statistics are constants, so dx = g * w * inv_std."""

    def forward(self, x, weight, bias, mean, var, eps):
        xp = backend.get_array_module(x)
        inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
        self.save_for_backward(x_hat if weight is not None else None, inv_std, weight)
        self.has_bias = bias is not None
        return _affine(x_hat, weight, bias)

    def backward(self, grad):
        x_hat, inv_std, weight = self.saved
        scale = inv_std * weight if weight is not None else inv_std
        g_x = grad * _per_channel(scale, grad.ndim) if self.needs_input_grad[0] else None
        g_weight = _channel_sums(grad, x_hat) if weight is not None else None
        g_bias = _channel_sums(grad) if self.has_bias else None
        return g_x, g_weight, g_bias, None, None, None


def _affine(x_hat, weight, bias):
    out = x_hat * _per_channel(weight, x_hat.ndim) if weight is not None else x_hat.copy()
    if bias is not None:
        out += _per_channel(bias, x_hat.ndim)
    return out


def _buffer(value, op, name, channels, like):
    if value is None:
        return None
    array = raw(value)
    if array.shape != (channels,):
        raise ValueError(f"{op}: {name} must have shape ({channels},) for input of shape {like.shape}, got {array.shape}")
    if backend.device_of(array) != backend.device_of(like):
        raise RuntimeError(f"{op}: {name} is on {backend.device_of(array)} but the input is on "
                           f"{backend.device_of(like)}; move them to one device")
    return array


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel of (N, C, ...) input; see the module docstring for the exact statistics.

    running_mean / running_var may be raw arrays or Tensors (updated in place when training), or None
    (then training must be True and batch statistics are always used).
    """
    x = raw(input)
    op = "batch_norm"
    require_float(op, x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C) or (N, C, ...), got shape {x.shape}")
    channels = x.shape[1]
    rm = _buffer(running_mean, op, "running_mean", channels, x)
    rv = _buffer(running_var, op, "running_var", channels, x)
    for name, value in (("weight", weight), ("bias", bias)):
        _buffer(value, op, name, channels, x)
    if not training and (rm is None or rv is None):
        raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and running_var")
    if training:
        if x.size // channels <= 1:
            raise ValueError(f"{op}: training needs more than one value per channel to compute a variance, got "
                             f"input of shape {x.shape}")
        stats = {}  # forward reports the batch mean and biased variance here
        out = BatchNorm.apply(input, weight, bias, eps, stats)
        if momentum is not None:
            count = x.size // channels
            if rm is not None:
                rm *= 1 - momentum
                rm += momentum * stats["mean"].astype(rm.dtype, copy=False)
            if rv is not None:
                rv *= 1 - momentum
                rv += (momentum * count / (count - 1)) * stats["var"].astype(rv.dtype, copy=False)  # unbiased
        return out
    return BatchNormEval.apply(input, weight, bias, rm.astype(x.dtype, copy=False), rv.astype(x.dtype, copy=False),
                               eps)

