"""Gradient clipping: `clip_grad_norm_` (rescale all gradients together) and `clip_grad_value_`."""
import math

from .. import backend
from ..autograd.tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place, where total_norm is the
    norm of all gradients concatenated into one vector; returns total_norm as a 0-d Tensor (as PyTorch)."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    xp = backend.get_array_module(grads[0])
    dtype = grads[0].dtype
    if norm_type == math.inf:
        norms = xp.stack([xp.abs(g).max().astype(dtype) for g in grads])
        total = norms.max()
    else:
        # The p-norm of the per-tensor p-norms equals the p-norm of all elements together.
        norms = xp.stack([xp.linalg.norm(g.ravel(), norm_type).astype(dtype) for g in grads])
        total = xp.linalg.norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {float(total)}; "
                           "pass error_if_nonfinite=False to clip anyway")
    # Always multiplying (by at most 1) avoids reading the norm back to the host, which on a GPU would sync.
    coef = xp.minimum(max_norm / (total + dtype.type(1e-6)), dtype.type(1.0))
    for g in grads:
        g *= coef.astype(g.dtype, copy=False)
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = backend.get_array_module(g)
        xp.clip(g, -clip_value, clip_value, out=g)
