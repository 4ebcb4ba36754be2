"""Every registered network runs forward and backward on a 2-image batch and every parameter gets a gradient.

8x8 images keep this fast: the CIFAR topologies only pool globally (and DenseNet halves 8 -> 4 -> 2), so any
size divisible by 4 exercises every layer."""
import numpy as np
import pytest

import minidl
import minidl.nn
from minidl.models import create, list_models


VARIANTS = [(name, {}) for name in list_models()] + [
    ("rk4_resnet26", {"factors": "learn"}), ("rk8_resnet86", {"factors": "decay"}),
    ("midpoint_resnet26", {"nested": True}), ("rk4_resnet50", {"nested": True, "inner": "midpoint"}),
    ("highway20", {"gate_kernel_size": 3}), ("preact_resnet20", {"shortcut": "B"})]


@pytest.mark.parametrize("name,options", VARIANTS,
                         ids=["-".join([n] + [f"{k}={v}" for k, v in o.items()]) for n, o in VARIANTS])
def test_forward_backward_reaches_every_parameter(name, options):
    minidl.manual_seed(0)
    model = create(name, num_classes=7, **options)
    x = minidl.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32))
    logits = model(x)
    assert logits.shape == (2, 7) and logits.dtype == np.float32
    assert np.isfinite(logits.numpy()).all()
    minidl.functional.cross_entropy(logits, minidl.tensor(np.array([1, 4]))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    for n, p in model.named_parameters():
        assert p.grad.shape == p.shape and np.isfinite(p.grad).all(), n
    first_conv = next(m for m in model.modules() if isinstance(m, minidl.nn.Conv2d))
    assert np.abs(first_conv.weight.grad).sum() > 0  # the signal made it back through the whole depth
