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


class BatchNorm(Function):
    def forward(self, x, weight, bias, mean, var, eps):
        xp = backend.get_array_module(x)
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.has_weight, self.has_bias = weight is not None, bias is not None
        inv_std = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
        self.save_for_backward(x_hat, inv_std, weight)
        out = x_hat * _per_channel(weight, x.ndim) if weight is not None else x_hat.copy()
        if bias is not None:
            out += _per_channel(bias, x.ndim)
        return out

    def backward(self, grad):
        x_hat, inv_std, weight = self.saved
        ndim = grad.ndim
        g_bias = grad.sum(axis=self.axes) if self.has_bias else None
        g_weight = (grad * x_hat).sum(axis=self.axes) if self.has_weight else None
        g_xhat = grad * _per_channel(weight, ndim) if weight is not None else grad
        g_x = None
        if self.needs_input_grad[0]:
            g_x = self.input_grad(g_xhat, x_hat, inv_std)
        return g_x, g_weight, g_bias, None, None, None

    def input_grad(self, g_xhat, x_hat, inv_std):
        # Batch statistics: mean and variance depend on every sample, which adds the two centring terms
        #   dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))   (means over N, H, W)
        ndim = g_xhat.ndim
        mean_g = g_xhat.mean(axis=self.axes, keepdims=True)
        mean_gx = (g_xhat * x_hat).mean(axis=self.axes, keepdims=True)
        return (g_xhat - mean_g - x_hat * mean_gx) * _per_channel(inv_std, ndim)


class BatchNormEval(BatchNorm):
    """Running statistics are constants, so the input gradient is just g * inv_std."""

    def input_grad(self, g_xhat, x_hat, inv_std):
        return g_xhat * _per_channel(inv_std, g_xhat.ndim)


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
    xp = backend.get_array_module(x)
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        count = x.size // channels
        if count <= 1:
            raise ValueError(f"{op}: training needs more than one value per channel to compute a variance, got "
                             f"input of shape {x.shape}")
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: what the batch is normalised with
        if rm is not None and momentum is not None:
            rm *= 1 - momentum
            rm += momentum * mean.astype(rm.dtype, copy=False)
        if rv is not None and momentum is not None:
            rv *= 1 - momentum
            rv += (momentum * count / (count - 1)) * var.astype(rv.dtype, copy=False)  # unbiased into the buffer
        fn = BatchNorm
    else:
        mean, var = rm.astype(x.dtype, copy=False), rv.astype(x.dtype, copy=False)
        fn = BatchNormEval
    return fn.apply(input, weight, bias, xp.asarray(mean), xp.asarray(var), eps)


