"""A ResNet's float32 parameter gradients (train mode) against float64 ones, at batch sizes that chunk differently.

The conv paths cut the batch into chunks by bytes, so float32 and float64 run different chunkings: a chunking
or scratch-buffer bug would show here as a difference far above rounding.

What the comparison must not count: ReLU's derivative jumps at 0. A pre-activation within float32 rounding of
0 can land on the other side, and that pixel's gradient then passes in one run and is blocked in the other; batch
norm's backward spreads the difference over the channel. In resnet20 on 32x32 inputs one such pixel moves
parameter gradients by up to 10% at batch 2, with any conv (Winograd, im2col or the textbook ops: Winograd's
larger float32 rounding only makes it likelier). Each run's gradient is still exact for its own forward pass, so
the float32 run replays the float64 run's ReLU masks; what is left is rounding.
"""
import copy

import numpy as np
import pytest

import minidl
from minidl.functional.activation import ReLUFunction


def _parameter_gradients(model, x, labels, monkeypatch, masks=None):
    """{name: gradient} of one train-mode step, and the ReLU masks it used: its own, or `masks` when given."""
    used = []

    def forward(self, a):
        out = np.maximum(a, 0)
        self.mask = out > 0 if masks is None else masks[len(used)]
        used.append(self.mask)
        return out

    monkeypatch.setattr(ReLUFunction, "forward", forward)
    monkeypatch.setattr(ReLUFunction, "backward", lambda self, grad: (grad * self.mask,))
    model.train().zero_grad()
    minidl.functional.cross_entropy(model(minidl.tensor(x)), minidl.tensor(labels)).backward()
    return {name: p.grad.astype(np.float64) for name, p in model.named_parameters()}, used


@pytest.mark.parametrize("batch", [2, 4, 12])
def test_resnet_float32_gradients_match_float64(batch, rng, monkeypatch):
    minidl.manual_seed(0)
    model = minidl.models.create("resnet20", depth=8)
    x, labels = rng.standard_normal((batch, 3, 32, 32)), rng.integers(0, 10, batch)
    g64, masks = _parameter_gradients(copy.deepcopy(model).double(), x, labels, monkeypatch)
    g32, _ = _parameter_gradients(copy.deepcopy(model).float(), x.astype(np.float32), labels, monkeypatch, masks)
    assert len(masks) == 7  # stem, and two per residual unit: every ReLU replayed
    for name, exact in g64.items():
        assert np.abs(g32[name] - exact).max() <= 1e-4 * np.abs(exact).max(), name
