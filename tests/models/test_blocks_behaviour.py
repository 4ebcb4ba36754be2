"""What the blocks compute, beyond their gradients: shortcut option A's layout, highway gates at their
limits, pre-activated shortcuts, dense concatenation and the RK block's argument checks."""
import numpy as np
import pytest

import minidl
from minidl.models import DenseLayer, HighwayUnit, Transition, ZeroPadShortcut, create
from minidl.models.highway import default_gate_bias
from minidl.models.linear_multistep import LMStage
from minidl.models.preact import preact_block
from minidl.models.resnet import BasicBlock
from minidl.models.rk import RKBlock, TableauFactors, rk_block
from minidl.models.butcher import get_tableau


def batch(*shape, seed=0):
    return minidl.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def test_option_a_subsamples_and_appends_zero_channels():
    x = batch(2, 3, 6, 6)
    y = ZeroPadShortcut(3, 8, 2)(x).numpy()
    assert y.shape == (2, 8, 3, 3)
    assert np.array_equal(y[:, :3], x.numpy()[:, :, ::2, ::2])  # input channels first, top-left pixels
    assert not y[:, 3:].any()
    with pytest.raises(ValueError, match="only add channels"):
        ZeroPadShortcut(8, 3, 1)


def test_plain_unit_has_no_shortcut():
    block = BasicBlock(4, 4, shortcut=None)
    x = batch(2, 4, 4, 4)
    assert np.allclose(block(x).numpy(), np.maximum(block.branch(x).numpy(), 0))


def test_default_gate_bias_follows_depth():
    assert [default_gate_bias(d) for d in (10, 20, 30, 56, 110)] == [-1.0, -2.0, -3.0, -6.0, -6.0]
    assert create("highway20").stages[2][2].gate.bias.data.tolist() == [-2.0] * 64
    assert set(create("highway110").stages[0][0].gate.bias.data.tolist()) == {-6.0}


@pytest.mark.parametrize("in_channels,out_channels,stride", [(4, 4, 1), (3, 6, 2)])
def test_highway_gate_limits_are_carry_and_transform(in_channels, out_channels, stride):
    x = batch(2, in_channels, 4, 4)
    carry = HighwayUnit(in_channels, out_channels, stride, gate_bias=-60.0)
    assert np.allclose(carry(x).numpy(), carry.carry(x).numpy(), atol=1e-6)  # T ~ 0: y = C(x)
    transform = HighwayUnit(in_channels, out_channels, stride, gate_bias=60.0)
    h = np.maximum(transform.transform(x).numpy(), 0)
    assert np.allclose(transform(x).numpy(), h, atol=1e-5)  # T ~ 1: y = H(x), the plain unit


def test_first_preact_unit_of_a_stage_feeds_the_activated_input_to_its_shortcut():
    x = batch(2, 4, 4, 4)
    plain_shortcut = preact_block(4, 4, preactivate_shortcut=False)
    activated = preact_block(4, 4, preactivate_shortcut=True)
    activated.load_state_dict(plain_shortcut.state_dict())
    branch = plain_shortcut(x).numpy() - x.numpy()
    relu_bn = np.maximum(plain_shortcut.norms[0](x).numpy(), 0)
    assert np.allclose(activated(x).numpy(), relu_bn + branch, atol=1e-5)


def test_dense_layer_appends_growth_rate_maps_and_transition_compresses():
    x = batch(2, 5, 4, 4)
    y = DenseLayer(5, 3, bottleneck=True)(x)
    assert y.shape == (2, 8, 4, 4)
    assert np.array_equal(y.numpy()[:, :5], x.numpy())  # the old maps pass through unchanged
    assert Transition(8, 4)(y).shape == (2, 4, 2, 2)


def test_rk_block_checks_its_arguments():
    with pytest.raises(ValueError, match="has 4 stages but 2 stage functions"):
        RKBlock("rk4", [minidl.nn.Identity(), minidl.nn.Identity()])
    with pytest.raises(ValueError, match="factors must be one of"):
        TableauFactors(get_tableau("rk4"), "adaptive")


def test_rk4_block_combines_its_stages_with_the_tableau():
    block = rk_block("rk4", 4, 4).eval()  # eval: BN uses running statistics, so each F_i is a fixed function
    x = batch(2, 4, 4, 4)
    f = [fn for fn in block.functions]
    k1 = f[0](x)
    k2 = f[1](x + 0.5 * k1)
    k3 = f[2](x + 0.5 * k2)
    k4 = f[3](x + k3)
    expected = np.maximum((x + (k1 + 2 * k2 + 2 * k3 + k4) / 6).numpy(), 0)
    assert np.allclose(block(x).numpy(), expected, atol=1e-5)


def test_nested_block_is_an_rk_step_over_inner_rk_increments():
    block = rk_block("midpoint", 4, 4, inner="midpoint").eval()
    x = batch(2, 4, 4, 4)

    def inner(increment, z):  # midpoint increment: F_2(z + F_1(z) / 2)
        f1, f2 = increment.functions
        return f2(z + 0.5 * f1(z))

    g1, g2 = block.functions
    expected = np.maximum((x + inner(g2, x + 0.5 * inner(g1, x))).numpy(), 0)
    assert np.allclose(block(x).numpy(), expected, atol=1e-5)


def test_lm_stage_is_the_linear_two_step_scheme():
    """x_{n+1} = (1 - k_n) x_n + k_n x_{n-1} + F_n(x_n), with x_0 the input carried by the first unit's shortcut;
    k = 0 gives the plain pre-activation ResNet stage."""
    minidl.manual_seed(0)
    stage = LMStage(3, 6, 2, n=3).eval()
    x = batch(2, 3, 8, 8)
    steps = [stage.first.shortcut(x).numpy(), stage.first(x).numpy()]
    for i, unit in enumerate(stage.units):
        residual = unit(minidl.tensor(steps[-1])).numpy() - steps[-1]  # F(x) = unit(x) - x: identity shortcut
        k = float(stage.k.numpy()[i])
        steps.append((1 - k) * steps[-1] + k * steps[-2] + residual)
    assert np.allclose(stage(x).numpy(), steps[-1], atol=1e-5)
    assert (stage.k.numpy() <= 0).all() and (stage.k.numpy() > -0.1).all()
    stage.k.data[:] = 0
    resnet_stage = minidl.nn.Sequential(stage.first, *stage.units)
    assert np.allclose(stage(x).numpy(), resnet_stage(x).numpy(), atol=1e-6)


def test_a_lesioned_preact_unit_keeps_its_preactivated_shortcut():
    from minidl.analysis.lesion import skip_output
    minidl.manual_seed(0)
    x = batch(2, 3, 8, 8)
    first = preact_block(3, 6, 2, "A", preactivate_shortcut=True).eval()
    activated = minidl.functional.relu(first.norms[0](x))
    assert np.allclose(skip_output(first, x).numpy(), first.shortcut(activated).numpy())
    inner = preact_block(4, 4).eval()
    y = batch(2, 4, 8, 8, seed=1)
    assert np.array_equal(skip_output(inner, y).numpy(), y.numpy())
