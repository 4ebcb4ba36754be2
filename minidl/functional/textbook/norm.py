"""Batch normalisation, the textbook way, over the channel axis 1 of (N, C, ...) (Ioffe & Szegedy 2015,
docs/references.md).

Training, with m = N * H * W values per channel and means over the axes other than the channel:

    mean = mean(x)      var = mean((x - mean)^2)      x_hat = (x - mean) / sqrt(var + eps)
    y = w * x_hat + b
    dx = w / sqrt(var + eps) * (dy - mean(dy) - x_hat * mean(dy * x_hat))
    dw = sum(dy * x_hat)      db = sum(dy)

F.batch_norm then moves the running buffers toward mean and the unbiased variance var * m / (m - 1).
Evaluation uses those buffers as constants: y = w * (x - running_mean) / sqrt(running_var + eps) + b,
so dx = dy * w / sqrt(running_var + eps).
"""
from ... import backend
from . import TextbookFunction


def _per_channel(vector, ndim):
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an (N, C, ...) array."""
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def _axes(x):
    """Every axis but the channel axis 1."""
    return (0,) + tuple(range(2, x.ndim))


class TextbookBatchNorm(TextbookFunction):
    """Training mode: normalise with the batch statistics; report them in `stats` for the running buffers."""
    op = "batch_norm"

    def forward(self, x, weight, bias, eps, stats):
        xp = backend.get_array_module(x)
        axes = _axes(x)
        mean = x.mean(axis=axes)
        var = ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=axes)
        inv_std = 1 / xp.sqrt(var + eps)
        x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
        y = x_hat * _per_channel(weight, x.ndim) if weight is not None else x_hat.copy()
        if bias is not None:
            y += _per_channel(bias, x.ndim)
        stats["mean"], stats["var"], stats["count"] = mean, var, x.size // x.shape[1]
        self.has_weight, self.has_bias = weight is not None, bias is not None
        self.save_for_backward(x_hat, inv_std, weight)
        return y

    def backward(self, grad):
        x_hat, inv_std, weight = self.saved
        axes, ndim = _axes(grad), grad.ndim
        scale = inv_std * weight if weight is not None else inv_std
        centred_grad = grad - grad.mean(axis=axes, keepdims=True)
        grad_x = _per_channel(scale, ndim) * (centred_grad - x_hat * (grad * x_hat).mean(axis=axes, keepdims=True))
        grad_w = (grad * x_hat).sum(axis=axes) if self.has_weight else None
        grad_b = grad.sum(axis=axes) if self.has_bias else None
        return grad_x, grad_w, grad_b, None, None


class TextbookBatchNormEval(TextbookFunction):
    """Evaluation mode: normalise with the running statistics, which are constants here."""
    op = "batch_norm_eval"

    def forward(self, x, weight, bias, mean, var, eps):
        xp = backend.get_array_module(x)
        inv_std = 1 / xp.sqrt(var + eps)
        x_hat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
        y = x_hat * _per_channel(weight, x.ndim) if weight is not None else x_hat.copy()
        if bias is not None:
            y += _per_channel(bias, x.ndim)
        self.has_weight, self.has_bias = weight is not None, bias is not None
        self.save_for_backward(x_hat, inv_std, weight)
        return y

    def backward(self, grad):
        x_hat, inv_std, weight = self.saved
        axes = _axes(grad)
        scale = inv_std * weight if weight is not None else inv_std
        grad_x = grad * _per_channel(scale, grad.ndim)
        grad_w = (grad * x_hat).sum(axis=axes) if self.has_weight else None
        grad_b = grad.sum(axis=axes) if self.has_bias else None
        return grad_x, grad_w, grad_b, None, None, None
