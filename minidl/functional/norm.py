"""Batch normalisation over (N, C[, H, W]) with PyTorch's statistics and running-buffer updates.

Training: normalise with the batch mean and the *biased* variance, and move the running buffers toward
the batch mean and the *unbiased* variance by `momentum`. Evaluation: normalise with the running buffers.
"""
from .. import backend
from ..autograd.function import Function
from ._channels import ChannelView
from ._util import raw, require_float


class BatchNorm(Function):
    """Training mode: normalise with the batch mean and biased variance of each channel; `relu=True` also
    applies max(., 0) to the result, in place (batch_norm_relu: one op instead of two, see below)."""

    def forward(self, x, weight, bias, eps, stats, relu=False):
        xp = backend.get_array_module(x)
        view = ChannelView(x)
        m = view.matrix(x)
        count = x.size // x.shape[1]
        stats["mean"] = view.sums(m) / count
        centred = m - view.expand(stats["mean"])
        stats["var"] = view.sums(centred, centred) / count     # biased variance (two-pass: no cancellation)
        inv_std = 1 / xp.sqrt(stats["var"] + x.dtype.type(eps))
        scale = inv_std * weight if weight is not None else inv_std
        # out = (x - mean) * inv_std * w + b, with inv_std * w folded into one per-channel scale
        out = centred * view.expand(scale)
        if bias is not None:
            out += view.expand(bias)
        mask = None
        if relu:
            xp.maximum(out, 0, out=out)  # our own fresh array, so in place is safe
            mask = out > 0               # 1 byte per element is all that backward needs from the ReLU
        self.view, self.count, self.has_weight, self.has_bias = view, count, weight is not None, bias is not None
        self.save_for_backward(centred, inv_std, scale, mask)
        return view.array(out)

    def backward(self, grad):
        centred, inv_std, scale, mask = self.saved
        view, count = self.view, self.count
        g = view.matrix(grad)  # one copy if grad arrives in another memory layout than x had
        if mask is not None:
            g = g * mask       # the ReLU's backward: gradient only where the output was positive
        g_bias = view.sums(g)
        g_centred = view.sums(g, centred)          # sum of g * (x - mean)
        g_weight = g_centred * inv_std             # sum of g * x_hat
        g_x = None
        if self.needs_input_grad[0]:
            # The batch mean and variance depend on every sample, which adds two centring terms:
            #   dx = w * inv_std * (g - mean(g) - x_hat * mean(g * x_hat))     (means over N, H, W)
            # with x_hat = (x - mean) * inv_std, so x_hat * mean(g * x_hat) = (x - mean) * inv_std^2 * mean(g * (x - mean)).
            g_x = centred * view.expand(-(inv_std * inv_std) * g_centred / count)
            g_x += g
            g_x -= view.expand(g_bias / count)
            g_x *= view.expand(scale)
            g_x = view.array(g_x)
        return (g_x, g_weight if self.has_weight else None, g_bias if self.has_bias else None, None, None, None)


class BatchNormEval(Function):
    """Evaluation mode: the running statistics are constants, so y = x * scale + shift per channel and
    dx = g * scale, with scale = w / sqrt(var + eps) and shift = b - mean * scale."""

    def forward(self, x, weight, bias, mean, var, eps, relu=False):
        xp = backend.get_array_module(x)
        view = ChannelView(x)
        m = view.matrix(x)
        inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        scale = inv_std * weight if weight is not None else inv_std
        shift = -mean * scale + bias if bias is not None else -mean * scale
        out = m * view.expand(scale)
        out += view.expand(shift)
        mask = None
        if relu:
            xp.maximum(out, 0, out=out)
            mask = out > 0 if any(self.needs_input_grad) else None
        self.view, self.has_weight, self.has_bias = view, weight is not None, bias is not None
        # x_hat only feeds the weight's gradient: keep it only when that gradient is wanted.
        x_hat = (m - view.expand(mean)) * view.expand(inv_std) if self.needs_input_grad[1] else None
        self.save_for_backward(x_hat, scale, mask)
        return view.array(out)

    def backward(self, grad):
        x_hat, scale, mask = self.saved
        view = self.view
        g = view.matrix(grad)
        if mask is not None:
            g = g * mask
        g_x = view.array(g * view.expand(scale)) if self.needs_input_grad[0] else None
        g_weight = view.sums(g, x_hat) if self.needs_input_grad[1] else None
        g_bias = view.sums(g) if self.needs_input_grad[2] else None
        return g_x, g_weight, g_bias, None, None, None, None


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
    return _batch_norm("batch_norm", input, running_mean, running_var, weight, bias, training, momentum, eps, False)


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                    eps=1e-5):
    """relu(batch_norm(...)) as one op: the same values and gradients, with one pass and one array fewer
    in each direction, and a 1-byte mask instead of a saved float activation for the ReLU."""
    return _batch_norm("batch_norm_relu", input, running_mean, running_var, weight, bias, training, momentum, eps,
                       True)


def _batch_norm(op, input, running_mean, running_var, weight, bias, training, momentum, eps, relu):
    x = raw(input)
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
        out = BatchNorm.apply(input, weight, bias, eps, stats, relu=relu)
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
                               eps, relu=relu)

