"""Loss-landscape slices along filter-normalised random directions (Li, Xu, Taylor, Studer, Goldstein 2018,
[li2018], docs/references.md): f(a) = L(theta + a d) and f(a, b) = L(theta + a d + b e) on a fixed batch.

Filter normalisation rescales each output filter (the first axis of a weight; a Linear layer's rows count
as filters) of a Gaussian direction to the norm of the same filter of the weights,
d_ij <- d_ij * ||theta_ij|| / (||d_ij|| + 1e-10), so that slices of scale-invariant ReLU+BN nets are
comparable. One-dimensional parameters (biases, BN scales and shifts) get a zero direction by default
(the authors' `--xignore biasbn`). Every parameter, gradient and buffer is restored bit for bit afterwards.
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ._common import as_input, restore, snapshot

EPS = 1e-10


def random_direction(model, seed=0, ignore_biasbn=True):
    """A filter-normalised Gaussian direction: one array per parameter, in `model.parameters()` order.

    ignore_biasbn=False normalises each one-dimensional parameter as a single filter instead of zeroing it.
    """
    generator = np.random.default_rng(seed)
    direction = []
    for p in model.parameters():
        w = backend.to_device(p.data, "cpu").astype(np.float64)
        d = generator.standard_normal(w.shape)
        if w.ndim <= 1:
            d = np.zeros_like(w) if ignore_biasbn else d * np.linalg.norm(w) / (np.linalg.norm(d) + EPS)
        else:
            axes = tuple(range(1, w.ndim))
            w_norm = np.sqrt((w ** 2).sum(axis=axes, keepdims=True))
            d_norm = np.sqrt((d ** 2).sum(axis=axes, keepdims=True))
            d = d * w_norm / (d_norm + EPS)
        direction.append(backend.to_device(d.astype(p.dtype), p.device))
    return direction


def _loss_function(loss):
    """loss(model) -> float, from a function of the model or a batch (x, y) scored by mean cross-entropy."""
    if callable(loss):
        return lambda model: _as_float(loss(model))
    if isinstance(loss, (tuple, list)) and len(loss) == 2:
        x, y = loss
        return lambda model: float(F.cross_entropy(model(as_input(x, model)), as_input(y, model)).item())
    raise TypeError(f"loss landscape: loss must be a function of the model or a batch (x, y), got {type(loss).__name__}")


def _as_float(value):
    return float(value.item()) if isinstance(value, Tensor) else float(value)


def _check_direction(model, direction, what):
    params = list(model.parameters())
    if len(direction) != len(params) or any(tuple(d.shape) != p.shape for d, p in zip(direction, params)):
        raise ValueError(f"loss landscape: {what} must hold one array per parameter with the parameter's shape "
                         f"({len(params)} parameters); make it with random_direction(model)")
    return params


def _evaluate_grid(model, loss, directions, coordinates):
    """loss(theta + sum_i c_i d_i) for every coordinate tuple c, restoring the model afterwards."""
    f = _loss_function(loss)
    params = _check_direction(model, directions[0], "direction")
    for d in directions[1:]:
        _check_direction(model, d, "direction")
    saved = snapshot(model)
    origin = [p.data.copy() for p in params]
    values = []
    try:
        with no_grad():
            for c in coordinates:
                for i, p in enumerate(params):
                    moved = origin[i]
                    for ci, d in zip(c, directions):
                        moved = moved + p.data.dtype.type(ci) * d[i]
                    p.data[...] = moved
                values.append(f(model))
    finally:
        restore(saved)
    return np.array(values)


@dataclass
class Slice1D:
    alphas: np.ndarray
    losses: np.ndarray


@dataclass
class Surface2D:
    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray    # (len(betas), len(alphas)): row j is beta_j, as matplotlib's contour expects


def loss_slice_1d(model, loss, alphas=None, direction=None, seed=0):
    """Slice1D of f(a) = L(theta + a d); alphas default to 21 points on [-1, 1], d to random_direction(seed).

    loss: a batch (x, y) scored with mean cross-entropy, or a function of the model returning a scalar.
    The model is evaluated in its current mode (use model.eval() for BN running statistics).
    """
    alphas = np.linspace(-1, 1, 21) if alphas is None else np.asarray(alphas, dtype=np.float64)
    direction = random_direction(model, seed) if direction is None else direction
    return Slice1D(alphas, _evaluate_grid(model, loss, [direction], [(a,) for a in alphas]))


def loss_surface_2d(model, loss, alphas=None, betas=None, directions=None, seed=0):
    """Surface2D of f(a, b) = L(theta + a d + b e); a and b default to 21 points on [-1, 1], (d, e) to two
    random directions (seeds seed and seed + 1). Costs len(alphas) * len(betas) loss evaluations."""
    alphas = np.linspace(-1, 1, 21) if alphas is None else np.asarray(alphas, dtype=np.float64)
    betas = alphas if betas is None else np.asarray(betas, dtype=np.float64)
    if directions is None:
        directions = (random_direction(model, seed), random_direction(model, seed + 1))
    grid = [(a, b) for b in betas for a in alphas]
    losses = _evaluate_grid(model, loss, list(directions), grid).reshape(len(betas), len(alphas))
    return Surface2D(alphas, betas, losses)
