"""Each analysis tool on a real zoo network at tiny size (8x8 images, one unit per stage)."""
import math

import numpy as np
import pytest

import minidl
from minidl import models, nn
from minidl.analysis import (effective_path_gradients, feature_reuse, gate_statistics, gradient_flow, jacobian,
                             jacobian_spectrum, lesion_study, lesioned, loss_slice_1d)
from minidl.models.preact import preact_block


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 3, 8, 8)).astype(np.float32), np.arange(6) % 10


def _state(model):
    return [t.data.copy() for t in list(model.parameters()) + list(model.buffers())]


def _same_state(model, state):
    return all(np.array_equal(a, t.data) for a, t in zip(state, list(model.parameters()) + list(model.buffers())))


def test_gradient_flow_on_resnet8(batch):
    minidl.manual_seed(0)
    model = models.create("resnet20", depth=8)
    state = _state(model)
    stats = gradient_flow(model, *batch)
    assert stats.names[0] == "stem.0" and stats.names[-1] == "fc" and len(stats.names) == 8  # 7 convs + fc
    assert np.all(stats.weight_grad_norm > 0) and np.all(np.isfinite(stats.ratio))
    assert _same_state(model, state) and all(p.grad is None for p in model.parameters())


def test_jacobian_of_zoo_blocks():
    minidl.manual_seed(1)
    unit = preact_block(4, 4).double()
    nn.init.zeros_(unit.convs[1].weight)      # branch output is zero: the unit is the identity map
    x = np.random.default_rng(1).standard_normal((1, 4, 3, 3))
    np.testing.assert_array_equal(jacobian(unit.eval(), x), np.eye(36))
    block = models.BasicBlock(4, 4).double().eval()
    loop, batched = jacobian(block, x), jacobian(block, x, batched=True)
    np.testing.assert_allclose(loop, batched, atol=1e-12)
    assert jacobian_spectrum(block, x).max > 0


def test_lesions_on_resnet8_and_plain8(batch):
    x, y = batch
    minidl.manual_seed(2)
    resnet = models.create("resnet20", depth=8)
    nn.init.zeros_(resnet.stages[0][0].branch.bn2.weight)   # a zero branch: ReLU(0 + x) = x, as x >= 0 here
    result = lesion_study(resnet, (x, y))
    assert result.blocks == ["stages.0.0", "stages.1.0", "stages.2.0"]
    assert all(l.accuracy is not None for l in result.lesions)   # option-A shortcuts keep every shape
    resnet.eval()
    with minidl.no_grad():
        intact = resnet(minidl.Tensor(x)).data
        with lesioned(resnet, ["stages.0.0"]):
            assert np.array_equal(resnet(minidl.Tensor(x)).data, intact)
    plain = models.create("plain20", depth=8)
    notes = [l.accuracy is None for l in lesion_study(plain, (x, y)).lesions]
    assert notes == [False, True, True]   # only the unit that keeps its shape can be deleted


def test_effective_paths_on_resnet8(batch):
    minidl.manual_seed(3)
    model = models.create("resnet20", depth=8)
    state = _state(model)
    result = effective_path_gradients(model, *batch, trials=2)
    assert result.ks.tolist() == [0, 1, 2, 3] and np.all(result.grad_mean > 0)
    assert _same_state(model, state)
    for block in (model.stages[0][0], model.stages[1][0], model.stages[2][0]):
        nn.init.zeros_(block.branch.bn2.weight)   # no gradient can pass through any branch
    zeroed = effective_path_gradients(model, *batch, trials=2)
    assert zeroed.grad_mean[0] > 0 and np.all(zeroed.grad_mean[1:] == 0)


def test_landscape_on_resnet8(batch):
    x, y = batch
    minidl.manual_seed(4)
    model = models.create("resnet20", depth=8).eval()
    state = _state(model)
    result = loss_slice_1d(model, (x, y), alphas=[0.0, 0.5])
    assert result.losses[0] == pytest.approx(minidl.training.evaluate(model, (x, y)).loss, rel=1e-5)
    assert result.losses[1] != result.losses[0] and _same_state(model, state)


def test_feature_reuse_on_densenets():
    minidl.manual_seed(5)
    model = models.densenet.densenet(10, growth_rate=4)          # 2 dense layers per block, then a transition
    reuse = feature_reuse(model.stages[0])
    assert reuse.matrix.shape == (3, 3) and np.isnan(reuse.matrix[0, 1]) and np.all(reuse.matrix[2] > 0)
    conv = model.stages[0][2].conv
    np.testing.assert_allclose(reuse.matrix[2, 2], np.abs(conv.weight.data[:, 20:24]).mean(), rtol=1e-6)
    bc = models.densenet.densenet(16, growth_rate=4, bottleneck=True, compression=0.5)  # reads through 1x1 convs
    assert feature_reuse(bc.stages[1]).matrix.shape == (3, 3)


def test_gate_statistics_on_highway8(batch):
    minidl.manual_seed(6)
    model = models.create("highway20", depth=8)
    for name, module in model.named_modules():
        if name.endswith("gate"):
            nn.init.zeros_(module.weight)
    stats = gate_statistics(model, batch[0])
    assert stats.names == ["stages.0.0.gate", "stages.1.0.gate", "stages.2.0.gate"]
    expected = 1 / (1 + math.exp(1.0))   # default gate bias -1 at depth 8
    np.testing.assert_allclose(stats.mean, expected, rtol=1e-6)
    np.testing.assert_allclose(stats.bias_sigmoid, expected, rtol=1e-6)
