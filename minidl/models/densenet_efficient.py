"""The input stage of a memory-efficient DenseNet-B layer (Pleiss et al. 2017, arXiv 1707.06990):
concatenation -> BN (batch statistics) -> ReLU -> 1x1 conv, as one op that stores only its inputs.

Layer l of a dense block reads the concatenation of all l earlier feature maps. Stored naively, that
concatenation and its BN and ReLU outputs take memory quadratic in the block's depth. This op keeps the
feature maps themselves (which exist anyway), the per-channel statistics and the weights; backward rebuilds
the concatenation and the BN-ReLU output in temporary arrays. With the saved statistics that costs a copy
and two elementwise passes, and the 1x1 conv's output is never recomputed: its backward needs only its
input. (minidl.recompute does the same for any function, but recomputes everything, statistics and GEMM
included: a densenet_bc100 step took 1.34x the time of the plain model's that way, and 0.95-1.09x with this
op, at 2.4x less peak memory; see benchmarks/RESULTS.md.)
"""
from .. import backend
from ..autograd.function import Function
from ..functional import textbook
from ..functional._channels import ChannelView
from ..functional._norm_fast import batch_norm_backward, batch_statistics
from ..functional.norm import update_running_stats
from ..split_batch import is_leader


def _concatenate(features):
    """The feature maps (N, C_i, H, W) side by side, as an (N, C, H, W) view of channels-last memory."""
    xp = backend.get_array_module(*features)
    n, _, h, w = features[0].shape
    x = xp.empty((n, h, w, sum(f.shape[1] for f in features)), features[0].dtype)
    start = 0
    for f in features:
        x[..., start:start + f.shape[1]] = xp.moveaxis(f, 1, -1)
        start += f.shape[1]
    return xp.moveaxis(x, -1, 1)


def _relu_of_affine(view, centred, scale, bias, out):
    """max(centred * scale + bias, 0) per channel, written into `out` (which may be `centred`)."""
    xp = view.xp
    y = xp.multiply(centred, view.expand(scale), out=out)
    y += view.expand(bias)
    return xp.maximum(y, 0, out=y)


class DenseInput(Function):
    """conv1x1(ReLU(BN(cat(features)))) in training mode; arguments (bn weight, bn bias, conv weight, *features)."""

    def forward(self, weight, bias, conv_weight, *features, eps, stats):
        x = _concatenate(features)
        view = ChannelView(x)
        stats["mean"], stats["var"], inv_std, scale, centred, stats["count"] = batch_statistics(
            view, view.matrix(x), weight, eps)
        del x  # the concatenation is not kept ...
        y = _relu_of_affine(view, centred, scale, bias, out=centred)  # ... nor is the BN-ReLU output
        self.view = view
        self.save_for_backward(stats["mean"], inv_std, scale, bias, conv_weight, *features)
        return _conv1x1(view, y, conv_weight)

    def backward(self, grad):
        mean, inv_std, scale, bias, conv_weight, *features = self.saved
        view, xp = self.view, self.view.xp
        centred = view.matrix(_concatenate(features))
        centred -= view.expand(mean)  # in place: the rebuilt concatenation is our own temporary
        y = _relu_of_affine(view, centred, scale, bias, out=xp.empty_like(centred))
        out_channels, channels = conv_weight.shape[:2]
        g = xp.moveaxis(grad, 1, -1).reshape(-1, out_channels)  # a view when grad is channels-last
        y_rows = y.reshape(-1, channels)
        grad_conv = (g.T @ y_rows).reshape(conv_weight.shape) if self.needs_input_grad[2] else None
        positive = y > 0
        xp.matmul(g, conv_weight.reshape(out_channels, channels), out=y_rows)  # y now holds d loss / d ReLU output
        y *= positive
        need_x = any(self.needs_input_grad[3:])
        g_x, g_weight, g_bias = batch_norm_backward(view, y, centred, inv_std, scale, need_x, out=centred)
        grads = [None] * len(features)
        if need_x:
            g_x, start = view.array(g_x), 0
            for i, f in enumerate(features):
                grads[i] = g_x[:, start:start + f.shape[1]] if self.needs_input_grad[3 + i] else None
                start += f.shape[1]
        return (g_weight, g_bias, grad_conv, *grads)


def _conv1x1(view, y, conv_weight):
    """A 1x1 conv on the channels-last matrix y is one GEMM; the result is an NCHW view of NHWC memory, as
    conv2d returns."""
    out_channels, channels = conv_weight.shape[:2]
    out = y.reshape(-1, channels) @ conv_weight.reshape(out_channels, channels).T
    return view.xp.moveaxis(out.reshape((view.n,) + view.shape[2:] + (out_channels,)), -1, 1)


def dense_input(features, norm, conv):
    """conv(relu(norm(cat(features)))) for a training step with the nn layers `norm` (an affine BatchNorm2d
    with running statistics) and `conv` (1x1, stride 1, no bias), storing only the inputs (see above).
    The running statistics and num_batches_tracked move exactly as in norm's own forward."""
    if is_leader():  # once per batch, also in a data-parallel step (minidl/parallel)
        norm.num_batches_tracked.data += 1
    momentum = 1.0 / float(norm.num_batches_tracked.data) if norm.momentum is None else norm.momentum
    stats = {}
    out = DenseInput.apply(norm.weight, norm.bias, conv.weight, *features, eps=norm.eps, stats=stats)
    update_running_stats(norm.running_mean.data, norm.running_var.data, stats, momentum)
    return out


def applies(norm, conv):
    """Whether dense_input can stand in for these layers (DenseNet-B's first BN and 1x1 conv are such); never
    inside `minidl.textbook_ops()`, where the layers run on the textbook ops."""
    return (not textbook.active() and norm.affine and norm.track_running_stats and conv.kernel_size == (1, 1) and conv.stride == (1, 1)
            and conv.padding in ((0, 0), "valid") and conv.groups == 1 and conv.bias is None)
