"""Batch normalisation over (N, C[, H, W]) with PyTorch's statistics and running-buffer updates.

Training: normalise with the batch mean and the *biased* variance, and move the running buffers toward
the batch mean and the *unbiased* variance by `momentum`. Evaluation: normalise with the running buffers.
In a data-parallel step each thread holds a chunk of the batch: the per-channel sums go through
`replicas.all_sum`, so every chunk is normalised with the statistics of the whole batch (minidl/parallel).
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..kernels import batch_norm as batch_norm_kernels
from ..split_batch import all_sum, is_leader
from . import textbook
from ._channels import ChannelView
from ._util import raw, require_float
from .textbook.norm import TextbookBatchNorm, TextbookBatchNormEval


def batch_statistics(view, m, weight, eps):
    """(mean, biased var, inv_std, scale = w * inv_std, centred = m - mean, count) of a ChannelView matrix;
    count is the number of values per channel (over the whole batch in a data-parallel step)."""
    xp = view.xp
    count, total = all_sum(m.size // view.c, view.sums(m))
    mean = total / count
    centred = m - view.expand(mean)
    var = all_sum(view.sums(centred, centred)) / count  # two passes (mean first): no cancellation
    inv_std = 1 / xp.sqrt(var + m.dtype.type(eps))
    return mean, var, inv_std, inv_std * weight if weight is not None else inv_std, centred, count


def batch_norm_backward(view, g, centred, inv_std, scale, need_x, out=None):
    """(g_x matrix or None, g_weight, g_bias) for training-mode BN, from the matrix g of output gradients.

    The batch mean and variance depend on every sample, which adds two centring terms:
        dx = w * inv_std * (g - mean(g) - x_hat * mean(g * x_hat))     (means over N, H, W)
    with x_hat = (x - mean) * inv_std, so x_hat * mean(g * x_hat) = (x - mean) * inv_std^2 * mean(g * (x - mean)).
    `out` may name an array to write g_x into (centred itself, when the caller no longer needs it).
    In a data-parallel step g_x needs the whole batch's sums, while g_weight and g_bias are this chunk's
    share (the step adds the replicas' shares of every parameter's gradient).
    """
    g_bias = view.sums(g)
    g_centred = view.sums(g, centred)  # sum of g * (x - mean)
    count, batch_g_bias, batch_g_centred = all_sum(g.size // view.c, g_bias, g_centred)
    g_x = None
    if need_x:
        g_x = view.xp.multiply(centred, view.expand(-(inv_std * inv_std) * batch_g_centred / count), out=out)
        g_x += g
        g_x -= view.expand(batch_g_bias / count)
        g_x *= view.expand(scale)
    return g_x, g_centred * inv_std, g_bias


class BatchNorm(Function):
    """Training mode: normalise with the batch mean and biased variance of each channel."""

    def forward(self, x, weight, bias, eps, stats):
        view = ChannelView(x)
        if view.xp is not np:  # GPU: 2 kernels (minidl/kernels/batch_norm.cu) instead of about 12 array ops
            out, stats["mean"], stats["var"], inv_std, scale = batch_norm_kernels.forward(view, x, weight, bias, eps)
            stats["count"] = x.size // x.shape[1]
        else:
            stats["mean"], stats["var"], inv_std, scale, centred, stats["count"] = batch_statistics(
                view, view.matrix(x), weight, eps)
            # out = (x - mean) * inv_std * w + b, with inv_std * w folded into one per-channel scale, written
            # into `centred`: backward recomputes x - mean from x, which the graph keeps alive anyway (it is the
            # previous op's output), so saving x costs no memory where saving `centred` would cost a full array.
            out = centred
            out *= view.expand(scale)
            if bias is not None:
                out += view.expand(bias)
            out = view.array(out)
        self.view, self.has_weight, self.has_bias = view, weight is not None, bias is not None
        self.save_for_backward(x, stats["mean"], inv_std, scale)
        return out

    def backward(self, grad):
        x, mean, inv_std, scale = self.saved
        view = self.view
        if view.xp is not np:  # GPU: 2 kernels instead of about 15 array ops
            g_x, g_weight, g_bias = batch_norm_kernels.backward(view, grad, x, mean, inv_std, scale,
                                                                self.needs_input_grad[0])
        else:
            g = view.matrix(grad)  # one copy if grad arrives in another memory layout than x had
            centred = view.matrix(x) - view.expand(mean)
            g_x, g_weight, g_bias = batch_norm_backward(view, g, centred, inv_std, scale, self.needs_input_grad[0],
                                                        out=centred)
            g_x = view.array(g_x) if g_x is not None else None
        return (g_x, g_weight if self.has_weight else None, g_bias if self.has_bias else None, None, None)


class BatchNormEval(Function):
    """Evaluation mode: the running statistics are constants, so y = x * scale + shift per channel and
    dx = g * scale, with scale = w / sqrt(var + eps) and shift = b - mean * scale."""

    def forward(self, x, weight, bias, mean, var, eps):
        xp = backend.get_array_module(x)
        view = ChannelView(x)
        m = view.matrix(x)
        inv_std = 1 / xp.sqrt(var + x.dtype.type(eps))
        scale = inv_std * weight if weight is not None else inv_std
        shift = -mean * scale + bias if bias is not None else -mean * scale
        out = m * view.expand(scale)
        out += view.expand(shift)
        self.view, self.has_weight, self.has_bias = view, weight is not None, bias is not None
        # x_hat only feeds the weight's gradient: keep it only when that gradient is wanted.
        x_hat = (m - view.expand(mean)) * view.expand(inv_std) if self.needs_input_grad[1] else None
        self.save_for_backward(x_hat, scale)
        return view.array(out)

    def backward(self, grad):
        x_hat, scale = self.saved
        view = self.view
        g = view.matrix(grad)
        g_x = view.array(g * view.expand(scale)) if self.needs_input_grad[0] else None
        g_weight = view.sums(g, x_hat) if self.needs_input_grad[1] else None
        g_bias = view.sums(g) if self.needs_input_grad[2] else None
        return g_x, g_weight, g_bias, None, None, None


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
    train_fn, eval_fn = (TextbookBatchNorm, TextbookBatchNormEval) if textbook.active() else \
        (BatchNorm, BatchNormEval)
    if not training and (rm is None or rv is None):
        raise ValueError(f"{op}: evaluation mode (training=False) needs running_mean and running_var")
    if training:
        if x.size // channels <= 1:
            raise ValueError(f"{op}: training needs more than one value per channel to compute a variance, got "
                             f"input of shape {x.shape}")
        stats = {}  # forward reports the batch mean and biased variance here
        out = train_fn.apply(input, weight, bias, eps, stats)
        update_running_stats(rm, rv, stats, momentum)
        return out
    return eval_fn.apply(input, weight, bias, rm.astype(x.dtype, copy=False), rv.astype(x.dtype, copy=False), eps)


def update_running_stats(running_mean, running_var, stats, momentum):
    """Move the running buffers (arrays or None) toward the batch mean and the *unbiased* variance.

    `stats` holds the batch's mean, biased variance and count of values per channel. In a data-parallel
    step only the first replica moves the buffers, once for the whole batch.
    """
    if momentum is None or not is_leader():
        return
    count = stats["count"]
    if running_mean is not None and running_var is not None and backend.get_array_module(running_mean) is not np \
            and running_mean.dtype == running_var.dtype == stats["mean"].dtype:  # GPU: one kernel, not 8 ops
        batch_norm_kernels.update_running_stats(running_mean, running_var, stats, momentum, count)
        return
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * stats["mean"].astype(running_mean.dtype, copy=False)
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += (momentum * count / (count - 1)) * stats["var"].astype(running_var.dtype, copy=False)
