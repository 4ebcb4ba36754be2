"""Batch norm on the fast path: two passes over long contiguous per-channel rows (functional/_channels.py) in
either memory layout, saving the input instead of a centred copy; on the GPU, fused kernels. In a data-parallel
step the per-channel sums meet across the threads (split_batch.all_sum), so every chunk is normalised with the
whole batch's statistics. It computes what functional/textbook/norm.py computes (tests/functional/test_textbook_ops.py).

Measured: resnet56 peak memory 1754 -> 1496 MB from saving the input (benchmarks/RESULTS.md).
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..kernels import batch_norm as batch_norm_kernels
from ..split_batch import all_sum
from ._channels import ChannelView


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


class FastBatchNorm(Function):
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


class FastBatchNormEval(Function):
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


def update_running_stats_gpu(running_mean, running_var, stats, momentum):
    """norm.update_running_stats in one kernel, not 8 ops, where the buffers are GPU arrays of the stats' dtype;
    False where it does not apply."""
    if running_mean is None or running_var is None or backend.get_array_module(running_mean) is np \
            or not running_mean.dtype == running_var.dtype == stats["mean"].dtype:
        return False
    batch_norm_kernels.update_running_stats(running_mean, running_var, stats, momentum, stats["count"])
    return True
