"""Shattered gradients (Balduzzi et al. 2017 [balduzzi2017], docs/references.md): along a line of inputs, the
gradient dy/dx of a deep plain net decorrelates into white noise (about 2^-L), that of a residual net only
slowly (about 1/sqrt(L)).

The networks are scalar-in, scalar-out MLPs of width 200 evaluated on 256 points in [-2, 2): plain
(Linear -> [BN] -> ReLU per layer) or pre-activation residual (x + Linear(ReLU([BN](Linear(ReLU([BN](x))))))
per block), He-initialised weights, PyTorch-default biases U(+-1/sqrt(fan_in)). "BN" normalises with the
statistics of the 256-point batch, held constant when differentiating, so dy_i/dx_i is a per-point
derivative. This layout reproduces the NumPy table of [computed2026] in docs/references.md (e.g. lag-1
autocorrelation 0.64 / -0.03 for plain+BN and 0.62 / 0.36 for the residual net at 8 / 16 blocks, 20 seeds).
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd.tensor import Tensor
from ._common import as_input, frozen_parameters, to_numpy

KINDS = {"plain": (False, False), "plain+BN": (False, True), "resnet": (True, False), "resnet+BN": (True, True)}


def line_inputs(points=256, low=-2.0, high=2.0):
    """`points` equally spaced scalars in [low, high), shaped (points, 1)."""
    return np.linspace(low, high, points, endpoint=False).reshape(-1, 1)


class BatchStatNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) per feature over the current batch; mean and var are constants for
    autograd, so examples do not interact in backward (no affine parameters, no running statistics)."""

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        mean = x.data.mean(axis=0, keepdims=True)
        scale = 1 / (x.data.var(axis=0, keepdims=True) + self.eps) ** 0.5
        return (x - Tensor(mean)) * Tensor(scale)


class ResidualBlock(nn.Module):
    """y = shortcut(x) + branch(x) with an identity shortcut (the layout the lesion and path tools expect)."""

    def __init__(self, branch):
        super().__init__()
        self.branch = branch
        self.shortcut = nn.Identity()

    def forward(self, x):
        return self.shortcut(x) + self.branch(x)


def shattered_mlp(depth, width=200, residual=False, batch_norm=False, seed=0, dtype=np.float64):
    """A scalar-in scalar-out MLP with `depth` hidden layers (plain) or residual blocks of two layers each.

    Weights ~ N(0, 2 / fan_in) (He et al. 2015), biases ~ U(+-1/sqrt(fan_in)), drawn from `seed` alone.
    """
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"shattered_mlp: depth must be a positive int, got {depth!r}")
    norm = BatchStatNorm if batch_norm else nn.Identity
    if residual:
        def branch():
            return nn.Sequential(norm(), nn.ReLU(), nn.Linear(width, width, dtype=dtype),
                                 norm(), nn.ReLU(), nn.Linear(width, width, dtype=dtype))
        layers = [nn.Linear(1, width, dtype=dtype)] + [ResidualBlock(branch()) for _ in range(depth)]
    else:
        layers = []
        for i in range(depth):
            layers += [nn.Linear(1 if i == 0 else width, width, dtype=dtype), norm(), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(width, 1, dtype=dtype))
    generator = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            fan_in = m.in_features
            m.weight.data[...] = generator.standard_normal(m.weight.shape) * math.sqrt(2.0 / fan_in)
            m.bias.data[...] = generator.uniform(-1, 1, m.bias.shape) / math.sqrt(fan_in)
    return model


def input_gradients(model, xs=None):
    """dy/dx at every input point (a 1-D array); xs defaults to `line_inputs()`.

    One backward of sum(y) gives every dy_i/dx_i because the points do not interact in backward.
    """
    xs = line_inputs() if xs is None else np.asarray(xs).reshape(-1, 1)
    x = as_input(xs, model, requires_grad=True)
    with frozen_parameters(model):
        y = model(x)
        if y.shape != (len(xs), 1):
            raise ValueError(f"input_gradients: expected a scalar output per point, shape ({len(xs)}, 1), "
                             f"got {y.shape}")
        y.sum().backward()
    return to_numpy(x.grad).reshape(-1)


def autocorrelation(g, max_lag=None):
    """r_k = sum_i (g_i - mean)(g_{i+k} - mean) / sum_i (g_i - mean)^2 for k = 0..max_lag (r_0 = 1).

    Brown noise (a random walk) stays near 1 at small lags, white noise drops to about 0 (+- 1/sqrt(n)).
    """
    g = np.asarray(g, dtype=np.float64).reshape(-1)
    max_lag = len(g) - 1 if max_lag is None else max_lag
    if not 0 <= max_lag < len(g):
        raise ValueError(f"autocorrelation: max_lag must be in [0, {len(g) - 1}], got {max_lag}")
    c = g - g.mean()
    denominator = float(c @ c)
    if denominator == 0:
        raise ValueError("autocorrelation: the sequence is constant, so its autocorrelation is undefined")
    return np.array([float(c[:len(c) - k] @ c[k:]) / denominator for k in range(max_lag + 1)])


@dataclass
class ShatterTable:
    """Lag-`lag` autocorrelation of dy/dx by network kind (rows) and depth (columns), over seeds."""
    kinds: list
    depths: list
    lag: int
    mean: np.ndarray   # (kinds, depths)
    std: np.ndarray    # (kinds, depths), spread over seeds

    def format(self):
        head = f"{'lag-' + str(self.lag) + ' autocorr.':<18}" + "".join(f"{d:>14}" for d in self.depths)
        rows = [f"{k:<18}" + "".join(f"{m:>8.2f} +-{s:<4.2f}" for m, s in zip(self.mean[i], self.std[i]))
                for i, k in enumerate(self.kinds)]
        return "\n".join([head] + rows)


def shattering_table(depths=(1, 8, 16, 24, 50), kinds=("plain", "plain+BN", "resnet+BN"), seeds=range(20), lag=1,
                     width=200, points=256):
    """Mean and spread over seeds of the lag-`lag` autocorrelation of dy/dx for each kind and depth.

    kinds: names from KINDS ("plain", "plain+BN", "resnet", "resnet+BN").
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"shattering_table: unknown kinds {unknown}; choose from {list(KINDS)}")
    xs = line_inputs(points)
    values = np.empty((len(kinds), len(depths), len(seeds)))
    for i, kind in enumerate(kinds):
        residual, batch_norm = KINDS[kind]
        for j, depth in enumerate(depths):
            for s, seed in enumerate(seeds):
                model = shattered_mlp(depth, width, residual, batch_norm, seed)
                values[i, j, s] = autocorrelation(input_gradients(model, xs), lag)[lag]
    return ShatterTable(list(kinds), list(depths), lag, values.mean(axis=2), values.std(axis=2))
