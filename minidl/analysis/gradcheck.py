"""Gradient checking: compare autograd's gradients with float64 central differences.

The output is reduced to a scalar L = sum(out * r) with a fixed random r, so one backward pass gives
dL/dx for every input element, and each numerical derivative (L(x + eps) - L(x - eps)) / (2 eps) is
checked against it. An element passes when |analytic - numeric| <= atol + rtol * |numeric|.
"""
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytic gradient disagrees with the numerical one."""


@dataclass
class Worst:
    """The worst-matching element of one input."""
    input: int
    index: tuple
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float
    checked: int
    passed: bool

    def __str__(self):
        return (f"input {self.input}, index {self.index}: analytic {self.analytic:.10g}, numeric {self.numeric:.10g}, "
                f"|diff| {self.abs_error:.3g}, relative {self.rel_error:.3g} ({self.checked} elements checked)")


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _scalar(outputs, projections):
    return sum(float((out.data * r).sum()) for out, r in zip(outputs, projections))


def check_gradients(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=256, seed=0):
    """Return one `Worst` record per input that requires grad (the element with the largest excess error)."""
    inputs = list(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; central differences need float64 "
                            "inputs (float32 round-off swamps eps)")
    generator = np.random.default_rng(seed)

    outputs = _outputs(fn, inputs)
    xp = backend.get_array_module(outputs[0].data)
    projections = [xp.asarray(generator.standard_normal(o.shape)) for o in outputs]
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    loss = None
    for out, r in zip(outputs, projections):
        if out.requires_grad:
            term = (out * Tensor(r)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        raise ValueError("gradcheck: the function's outputs do not depend on any input that requires grad")
    loss.backward()

    report = []
    for i in checked:
        x = inputs[i]
        analytic = x.grad if x.grad is not None else xp.zeros_like(x.data)
        count = x.data.size
        picks = np.arange(count) if count <= max_elements else np.sort(
            generator.choice(count, max_elements, replace=False))
        worst = None
        for k in picks:
            # Index the array itself (not a reshape(-1), which copies a non-contiguous array).
            where = np.unravel_index(int(k), x.shape) if x.shape else ()
            original = x.data[where].item()
            with no_grad():
                x.data[where] = original + eps
                plus = _scalar(_outputs(fn, inputs), projections)
                x.data[where] = original - eps
                minus = _scalar(_outputs(fn, inputs), projections)
                x.data[where] = original
            numeric = (plus - minus) / (2 * eps)
            value = float(analytic[where])
            error = abs(value - numeric)
            excess = error - (atol + rtol * abs(numeric))
            if worst is None or excess > worst[0]:
                worst = (excess, k, value, numeric, error)
        excess, k, value, numeric, error = worst
        rel = error / max(abs(value) + abs(numeric), 1e-300) if error else 0.0
        index = tuple(int(j) for j in np.unravel_index(int(k), x.shape)) if x.shape else ()
        report.append(Worst(i, index, value, numeric, error, rel, len(picks), excess <= 0))
    return report


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=256, seed=0, raise_exception=True):
    """True when every checked element agrees; otherwise raise GradcheckError naming the worst element.

    `fn` takes the inputs (Tensors, float64 for those that require grad) and returns a Tensor or a tuple of
    Tensors. Inputs with more than `max_elements` elements are checked on a random sample of them.
    """
    report = check_gradients(fn, inputs, eps, atol, rtol, max_elements, seed)
    failures = [w for w in report if not w.passed]
    if failures and raise_exception:
        lines = "\n  ".join(str(w) for w in failures)
        raise GradcheckError(f"gradcheck failed (eps={eps}, atol={atol}, rtol={rtol}); worst elements:\n  {lines}")
    return not failures
