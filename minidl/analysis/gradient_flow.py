"""Gradient flow: per-layer activation statistics and gradient norms, read through hooks.

For every chosen layer l (default: every Conv2d and Linear) one step records the mean and standard deviation
of its output y_l (He et al. 2015 [he2015], docs/references.md: Fig. 7 plots that std), ||dL/dy_l||_F,
||W_l||_F, ||dL/dW_l||_F and their ratio. `gradient_flow(model, x, y)` measures one batch (at initialisation,
say); `GradientFlowRecorder` stays attached while `minidl.train` (or any loop) runs and records every
`every`-th training step, without a callback: forward hooks see the activations, tensor hooks the
gradients as backward passes through.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd.grad_mode import is_grad_enabled
from ._common import as_input, restore, select_modules, snapshot

FIELDS = ("act_mean", "act_std", "grad_out_norm", "weight_norm", "weight_grad_norm")


@dataclass
class FlowStats:
    """One step's measurements, one entry per layer (NaN where a layer has no weight or got no gradient)."""
    names: list
    act_mean: np.ndarray
    act_std: np.ndarray
    grad_out_norm: np.ndarray      # ||dL/dy_l||_F over the whole batch
    weight_norm: np.ndarray        # ||W_l||_F
    weight_grad_norm: np.ndarray   # ||dL/dW_l||_F
    loss: float = math.nan
    step: int = 0

    @property
    def ratio(self):
        """||dL/dW_l|| / ||W_l||: the relative size of a plain SGD step (times the learning rate)."""
        return self.weight_grad_norm / self.weight_norm

    def table(self):
        """The measurements as a text table, one row per layer."""
        lines = [f"{'layer':<28}{'act mean':>10}{'act std':>10}{'|dL/dy|':>11}{'|W|':>10}{'|dL/dW|':>11}"
                 f"{'ratio':>11}"]
        for i, name in enumerate(self.names):
            lines.append(f"{name:<28}{self.act_mean[i]:>10.3g}{self.act_std[i]:>10.3g}{self.grad_out_norm[i]:>11.3g}"
                         f"{self.weight_norm[i]:>10.3g}{self.weight_grad_norm[i]:>11.3g}{self.ratio[i]:>11.3g}")
        return "\n".join(lines)


def _default_layers(name, module):
    return isinstance(module, (nn.Conv2d, nn.Linear))


@dataclass
class _Pending:
    step: int
    values: dict = field(default_factory=lambda: {f: {} for f in FIELDS})


class GradientFlowRecorder:
    """Records FlowStats for every `every`-th forward+backward of `model` while attached.

        with GradientFlowRecorder(model, every=10) as rec:
            minidl.train(model, ...)
        curves = rec.history()          # {"step": (S,), "weight_grad_norm": (S, layers), ...}

    A step starts when the model itself is called in training mode with gradients enabled, so the
    no-grad evaluation passes of `minidl.train` are not recorded (train_only=False records every call).
    Call `finish()` (or leave the `with` block) to close the last step.
    """

    def __init__(self, model, layers=None, every=1, train_only=True):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientFlowRecorder: every must be a positive int, got {every!r}")
        self.model, self.every, self.train_only = model, every, train_only
        self.layers = select_modules(model, _default_layers if layers is None else layers, "GradientFlowRecorder")
        self.names = [name or type(module).__name__ for name, module in self.layers]
        self.records = []
        self._handles, self._pending, self._calls = [], None, 0

    # ----- attaching -----
    def attach(self):
        if self._handles:
            return self
        self._handles.append(self.model.register_forward_pre_hook(self._on_model_call))
        for i, (_, module) in enumerate(self.layers):
            self._handles.append(module.register_forward_hook(lambda m, args, out, i=i: self._on_output(i, out)))
            weight = getattr(module, "weight", None)
            if isinstance(weight, nn.Parameter) and weight.requires_grad:
                self._handles.append(weight.register_hook(lambda g, i=i, w=weight: self._on_weight_grad(i, w, g)))
        return self

    def detach(self):
        self.finish()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()
        return False

    # ----- hooks -----
    def _recording(self):
        return not self.train_only or (self.model.training and is_grad_enabled())

    def _on_model_call(self, module, args):
        if not self._recording():
            return None
        self.finish()
        if self._calls % self.every == 0:
            self._pending = _Pending(self._calls)
        self._calls += 1
        return None

    def _on_output(self, i, out):
        if self._pending is None or not self._recording() or not hasattr(out, "data"):
            return None
        data = out.data
        self._pending.values["act_mean"][i] = float(data.mean())
        self._pending.values["act_std"][i] = float(data.std())
        if out.requires_grad:
            pending = self._pending
            out.register_hook(lambda g: pending.values["grad_out_norm"].__setitem__(i, _norm(g)))
        return None

    def _on_weight_grad(self, i, weight, grad):
        if self._pending is not None:
            self._pending.values["weight_norm"][i] = _norm(weight.data)
            self._pending.values["weight_grad_norm"][i] = _norm(grad)
        return None

    def finish(self):
        """Close the step being recorded (if any) and add it to `records`."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        arrays = {f: np.array([pending.values[f].get(i, math.nan) for i in range(len(self.layers))]) for f in FIELDS}
        self.records.append(FlowStats(list(self.names), step=pending.step, **arrays))

    def history(self):
        """{"step": (S,), field: (S, layers) for each field and "ratio"} over the recorded steps."""
        self.finish()
        out = {"step": np.array([r.step for r in self.records]), "names": list(self.names)}
        for name in FIELDS + ("ratio",):
            out[name] = np.array([getattr(r, name) for r in self.records]).reshape(len(self.records), len(self.names))
        return out


def _norm(array):
    return float((array.astype("float64") ** 2).sum() ** 0.5)


def gradient_flow(model, x, y, loss_fn=None, layers=None):
    """FlowStats of one forward and backward pass on the batch (x, y), loss_fn(output, y) defaulting to
    cross-entropy. Runs in the model's current mode (the lessons use train mode, as in training); afterwards every
    parameter, gradient and buffer (BN running statistics too) is exactly as before."""
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    saved = snapshot(model)
    recorder = GradientFlowRecorder(model, layers, train_only=False)
    try:
        for p in model.parameters():
            p.grad = None
        with recorder:
            loss = loss_fn(model(as_input(x, model)), as_input(y, model))
            loss.backward()
    finally:
        restore(saved)
    stats = recorder.records[0]
    stats.loss = float(loss.item())
    return stats

