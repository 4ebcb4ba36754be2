"""The exact input-output Jacobian of a block or a network prefix, and its singular values.

Dynamical isometry (Pennington, Schoenholz, Ganguli 2017 [pennington2017], docs/references.md): a deep net
trains well when the singular values of J = dy/dx cluster near 1. A residual stack, J = prod(I + dF_l/dx),
stays close to the identity while its branches are small; a plain ReLU stack spreads them out.

Reverse-mode autograd gives J one row per backward pass (u^T J for a one-hot u). Without forward mode
there is no cheaper way to get columns, so `jacobian` runs one backward per output element, or, with
`batched=True`, all rows at once: the input is copied once per output element into a batch and every copy
is seeded with its own one-hot gradient. That is valid only when examples do not interact (eval-mode BN).
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ._common import as_input, frozen_parameters, to_numpy


def _call(fn, x):
    out = fn(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: the function must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise ValueError(f"jacobian: the output (shape {out.shape}) does not depend on the input (shape {x.shape}) "
                         "through differentiable ops")
    return out


def jacobian(fn, x, batched=False):
    """d fn(x) / d x as a NumPy matrix of shape (fn(x).size, x.size) (flattened C-order), exact up to round-off.

    fn: a Module or a function of one Tensor (its parameters are left without gradients); x: an array or
    Tensor, converted to the Module's device and dtype (use model.double() for float64 Jacobians).
    batched=True: x must have a batch dimension of 1 and fn must treat examples independently.
    """
    x = as_input(x, fn, requires_grad=True)
    xp = backend.get_array_module(x.data)
    with frozen_parameters(fn):
        if batched:
            if x.shape[:1] != (1,):
                raise ValueError(f"jacobian: batched=True needs an input with batch dimension 1, got shape {x.shape}")
            rows = _call(fn, x).numel()
            copies = as_input(xp.repeat(x.data, rows, axis=0), fn, requires_grad=True)
            out = _call(fn, copies)
            seed = xp.eye(rows, dtype=out.dtype).reshape(out.shape)
            out.backward(seed)
            return to_numpy(copies.grad.reshape(rows, -1))
        out = _call(fn, x)
        matrix = np.empty((out.numel(), x.numel()), dtype=np.dtype(out.dtype))
        for i in range(out.numel()):
            seed = xp.zeros(out.numel(), dtype=out.dtype)
            seed[i] = 1
            x.grad = None
            out.backward(seed.reshape(out.shape), retain_graph=True)
            matrix[i] = 0 if x.grad is None else to_numpy(x.grad).reshape(-1)
        return matrix


@dataclass
class JacobianSpectrum:
    """Singular values of a Jacobian (descending) and the summaries dynamical isometry is judged by."""
    singular_values: np.ndarray

    @property
    def mean_squared(self):
        """mean of s^2 = ||J||_F^2 / min(m, n); O(1) avoids exploding or vanishing gradients."""
        return float(np.mean(self.singular_values ** 2))

    @property
    def max(self):
        return float(self.singular_values[0])

    @property
    def min(self):
        return float(self.singular_values[-1])

    def fraction_within(self, low=0.5, high=2.0):
        """The share of singular values in [low, high] (1.0 for a perfectly isometric map)."""
        s = self.singular_values
        return float(np.mean((s >= low) & (s <= high)))

    def summary(self):
        return (f"{len(self.singular_values)} singular values: max {self.max:.3g}, min {self.min:.3g}, "
                f"mean s^2 {self.mean_squared:.3g}, {100 * self.fraction_within():.0f}% in [0.5, 2]")


def jacobian_spectrum(fn, x, batched=False):
    """JacobianSpectrum of fn at x (see `jacobian` for the arguments)."""
    return JacobianSpectrum(np.linalg.svd(jacobian(fn, x, batched).astype(np.float64), compute_uv=False))
