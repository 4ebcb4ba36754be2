"""Highway transform-gate activity (Srivastava, Greff, Schmidhuber 2015, arXiv 1507.06228, Fig. 2): the mean of
T(x) = sigmoid(W_T x + b_T) per layer, its spread over examples, and the value sigmoid(b_T) it starts from
when the gate weights are small. T near 0 means the layer mostly carries its input through.
"""
from dataclasses import dataclass

import numpy as np

from ..autograd.grad_mode import no_grad
from ._common import as_input, select_modules, to_numpy


@dataclass
class GateStats:
    """Transform-gate statistics, one entry per gate (per_example: one column per gate)."""
    names: list
    mean: np.ndarray                # mean T over examples, units and positions
    std_over_examples: np.ndarray   # std over examples of each example's mean T
    std: np.ndarray                 # std of T over everything (examples, units, positions)
    per_example: np.ndarray         # (examples, gates): each example's mean T
    bias_sigmoid: np.ndarray        # mean over units of sigmoid(b_T); NaN for a gate without a bias

    def table(self):
        lines = [f"{'gate':<28}{'mean T':>9}{'sd (examples)':>15}{'sd (all)':>10}{'sigmoid(b)':>12}"]
        for i, name in enumerate(self.names):
            lines.append(f"{name:<28}{self.mean[i]:>9.3f}{self.std_over_examples[i]:>15.3f}{self.std[i]:>10.3f}"
                         f"{self.bias_sigmoid[i]:>12.3f}")
        return "\n".join(lines)


def is_gate(name, module):
    """Default selector: sub-modules named `gate` (the gate convolution of the zoo's HighwayUnit)."""
    return name.rsplit(".", 1)[-1] == "gate"


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow for very negative z


def gate_statistics(model, x, gates=None, logits=True):
    """GateStats of the gates of `model` on the inputs x (forward only, in the model's current mode).

    gates: selector of the gate modules (default `is_gate`); logits=True: a gate module outputs W_T x + b_T and
    T = sigmoid of it; logits=False: the module outputs T itself.
    """
    chosen = select_modules(model, is_gate if gates is None else gates, "gate_statistics", "gates")
    outputs, handles = {}, []
    for i, (_, module) in enumerate(chosen):
        handles.append(module.register_forward_hook(
            lambda m, args, out, i=i: outputs.__setitem__(i, to_numpy(out.data).astype(np.float64))))
    try:
        with no_grad():
            model(as_input(x, model))
    finally:
        for handle in handles:
            handle.remove()
    missing = [chosen[i][0] for i in range(len(chosen)) if i not in outputs]
    if missing:
        raise RuntimeError(f"gate_statistics: the gates {missing} were not called in the forward pass")
    t = [_sigmoid(outputs[i]) if logits else outputs[i] for i in range(len(chosen))]
    per_example = np.stack([g.reshape(len(g), -1).mean(axis=1) for g in t], axis=1)
    bias = [getattr(m, "bias", None) for _, m in chosen]
    return GateStats(
        names=[name for name, _ in chosen],
        mean=np.array([g.mean() for g in t]),
        std_over_examples=per_example.std(axis=0),
        std=np.array([g.std() for g in t]),
        per_example=per_example,
        bias_sigmoid=np.array([np.nan if b is None else _sigmoid(to_numpy(b.data).astype(np.float64)).mean()
                               for b in bias]))
