"""Residual networks as ensembles of paths (Veit, Wilber, Belongie 2016 [veit2016], docs/references.md).

Unrolling n residual blocks y = S(x) + F(x) gives 2^n paths from input to output, one per subset of the
branches F a path passes through; C(n, k) of them pass through k branches, so path lengths follow
Binomial(n, 1/2): for n = 54 (ResNet-110) mean 27, sd 3.67, and only 0.45% of the paths have 5..17
branches, the lengths that carry most of the gradient.

`effective_path_gradients` measures that: each trial runs one normal forward pass in which k randomly
chosen blocks pass gradient only through their branch and the others only through their shortcut, so
backward follows exactly one path of length k; the input-gradient norm of that path times the number of
such paths, C(n, k), is the total gradient that paths of length k carry.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..autograd.tensor import Tensor
from ._common import as_input, frozen_parameters, restore, select_modules, snapshot, to_numpy
from .lesion import has_skip


@dataclass
class PathLengths:
    """The number of paths of each length 0..n through n residual blocks (exact integers) and their share."""
    n: int
    counts: list             # counts[k] = C(n, k)

    @property
    def lengths(self):
        return np.arange(self.n + 1)

    @property
    def probabilities(self):
        return np.array([c / 2 ** self.n for c in self.counts])

    @property
    def mean(self):
        return self.n / 2

    @property
    def std(self):
        return math.sqrt(self.n) / 2

    def fraction(self, low, high):
        """The share of paths that pass through low..high branches (both ends included)."""
        return sum(self.counts[max(low, 0):min(high, self.n) + 1]) / 2 ** self.n


def path_lengths(n):
    """PathLengths for n residual blocks."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"path_lengths: n must be a non-negative int, got {n!r}")
    return PathLengths(n, [math.comb(n, k) for k in range(n + 1)])


def _detach_output(module, args, out):
    return Tensor._wrap(out.data)  # same values, no route back: gradient stops here


@dataclass
class EffectivePaths:
    """Input-gradient norm of single paths of length k, and what all paths of that length carry together."""
    ks: np.ndarray
    grad_mean: np.ndarray    # mean over trials of ||dL/dx|| along one path of length k
    grad_std: np.ndarray
    counts: np.ndarray       # C(n, k), as floats

    @property
    def total(self):
        """C(n, k) * grad_mean: the gradient all paths of length k carry together (Veit et al., Fig. 6c)."""
        return self.counts * self.grad_mean

    def share(self):
        """`total` as a fraction of its sum over the measured k."""
        return self.total / self.total.sum()


def _default_branch(block):
    if not hasattr(block, "branch"):
        raise AttributeError(f"effective_path_gradients: {type(block).__name__} has no `branch` module; pass "
                             "branch=lambda block: <the module whose output is the residual branch>")
    return block.branch


def _default_shortcut(block):
    shortcut = getattr(block, "shortcut", None)
    if shortcut is None:
        raise AttributeError(f"effective_path_gradients: {type(block).__name__} has no shortcut module; pass "
                             "shortcut=lambda block: <the module whose output is the shortcut>")
    return shortcut


def effective_path_gradients(model, x, y, blocks=None, ks=None, trials=10, loss_fn=None, branch=None, shortcut=None,
                             seed=0):
    """EffectivePaths of `model` on the batch (x, y) for each k in ks (default 0..n), `trials` random paths each.

    blocks: selector of the residual blocks (default: modules with a shortcut); branch(block) / shortcut(block)
    name the sub-modules whose outputs are added (defaults: block.branch and block.shortcut). The gradient
    is dL/dx at the model input, L = loss_fn(model(x), y) (cross-entropy by default), in the model's mode.
    """
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    chosen = select_modules(model, has_skip if blocks is None else blocks, "effective_path_gradients", "blocks")
    routes = [((branch or _default_branch)(block), (shortcut or _default_shortcut)(block)) for _, block in chosen]
    n = len(routes)
    ks = np.arange(n + 1) if ks is None else np.asarray(ks)
    if ks.size == 0 or ks.min() < 0 or ks.max() > n:
        raise ValueError(f"effective_path_gradients: every k must be in [0, {n}] ({n} blocks), got {ks.tolist()}")
    generator = np.random.default_rng(seed)
    target = as_input(y, model)
    norms = np.empty((len(ks), trials))
    saved = snapshot(model)  # train-mode BN would otherwise drift its running statistics trial by trial
    try:
        _measure(model, x, target, routes, ks, generator, loss_fn, norms)
    finally:
        restore(saved)
    counts = np.array([float(math.comb(n, int(k))) for k in ks])
    return EffectivePaths(ks, norms.mean(axis=1), norms.std(axis=1), counts)


def _measure(model, x, target, routes, ks, generator, loss_fn, norms):
    n, trials = len(routes), norms.shape[1]
    for a, k in enumerate(ks):
        for t in range(trials):
            through_branch = set(generator.choice(n, int(k), replace=False).tolist())
            handles = [(b if i not in through_branch else s).register_forward_hook(_detach_output)
                       for i, (b, s) in enumerate(routes)]
            inputs = as_input(x, model, requires_grad=True)
            try:
                with frozen_parameters(model):
                    loss_fn(model(inputs), target).backward()
            finally:
                for handle in handles:
                    handle.remove()
            norms[a, t] = 0.0 if inputs.grad is None else float(np.sqrt((to_numpy(inputs.grad) ** 2).sum()))
