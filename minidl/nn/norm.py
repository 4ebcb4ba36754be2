"""Batch normalisation layers (Ioffe & Szegedy 2015): `BatchNorm1d` for (N, C[, L]), `BatchNorm2d` for (N, C, H, W).

The buffers running_mean, running_var and num_batches_tracked are updated in place by
minidl.functional.batch_norm in training mode and used instead of batch statistics in eval mode.
"""
import numpy as np

from .. import backend
from .. import functional as F
from ..autograd.tensor import Tensor
from ..split_batch import is_leader
from .module import Module
from .parameter import empty_parameter


class _BatchNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = empty_parameter((num_features,), device, dtype)
            self.bias = empty_parameter((num_features,), device, dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            xp = backend.xp_for(device or "cpu")
            dtype = np.dtype(dtype or backend.get_default_dtype())
            self.register_buffer("running_mean", Tensor._wrap(xp.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor._wrap(xp.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor._wrap(xp.zeros((), np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, input):
        ndim = getattr(input, "ndim", None)
        if ndim not in self.expected_dims:
            wanted = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ValueError(f"{type(self).__name__}: expected {wanted} input, got shape {getattr(input, 'shape', None)}")
        momentum = self.momentum
        if self.training and self.track_running_stats and is_leader():  # once per batch (minidl/parallel)
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average of every batch seen so far
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # Without running buffers, batch statistics are used in eval mode too (as in PyTorch).
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalises each feature of (N, C) or (N, C, L) input over the batch (and length)."""
    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of (N, C, H, W) input over the batch and the spatial positions."""
    expected_dims = (4,)
