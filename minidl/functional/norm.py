"""Batch normalisation over (N, C[, H, W]) with PyTorch's statistics and running-buffer updates.

Training: normalise with the batch mean and the *biased* variance, and move the running buffers toward
the batch mean and the *unbiased* variance by `momentum`. Evaluation: normalise with the running buffers.
The Function that computes it is the textbook one (functional/textbook/norm.py), or on the fast path the one
minidl/fast.py plugs into the seam "batch_norm" (functional/_norm_fast.py).
"""
from .. import backend, seams
from ..split_batch import is_leader
from ._util import raw, require_float
from .textbook.norm import TextbookBatchNorm, TextbookBatchNormEval


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
    train_fn, eval_fn = seams.choose("batch_norm", (TextbookBatchNorm, TextbookBatchNormEval))
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
    if seams.choose("batch_norm_running_stats", lambda *args: False)(running_mean, running_var, stats, momentum):
        return  # done by the fast path (on the GPU: one kernel)
    count = stats["count"]
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * stats["mean"].astype(running_mean.dtype, copy=False)
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += (momentum * count / (count - 1)) * stats["var"].astype(running_var.dtype, copy=False)
