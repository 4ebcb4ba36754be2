"""Float64 gradient checks of every block type of the zoo, in training mode.

BN in training mode couples the samples of a batch, so each check feeds the whole batch through the block
and checks the gradient with respect to the batch and to one weight of the block."""
import numpy as np
import pytest

import minidl
from minidl.analysis import gradcheck
from minidl.models import BasicBlock, DenseLayer, HighwayUnit, Transition, list_tableaux
from minidl.models.bottleneck import BottleneckBlock
from minidl.models.linear_multistep import LMStage
from minidl.models.preact import preact_block, preact_bottleneck
from minidl.models.rk import rk_block

MAX_ELEMENTS = 24  # sampled elements per checked tensor: enough to catch a wrong formula, cheap to run


def check(block, in_channels, size=4, extra=()):
    """Gradcheck block(x) w.r.t. a (2, C, size, size) batch, the first parameter and any `extra` parameters."""
    minidl.manual_seed(0)
    block = block.double().train()
    x = minidl.tensor(np.random.default_rng(1).standard_normal((2, in_channels, size, size)), requires_grad=True)
    params = [next(iter(block.parameters())), *extra]
    assert gradcheck(lambda x, *p: block(x), [x, *params], max_elements=MAX_ELEMENTS)


@pytest.mark.parametrize("shortcut", ["A", "B", None])
@pytest.mark.parametrize("in_channels,stride", [(4, 1), (3, 2)])
def test_basic_block(shortcut, in_channels, stride):
    out_channels = 4 if stride == 1 else 6
    check(BasicBlock(in_channels, out_channels, stride, shortcut), in_channels)


@pytest.mark.parametrize("in_channels,stride", [(8, 1), (4, 2)])
def test_bottleneck_block(in_channels, stride):
    check(BottleneckBlock(in_channels, 2, stride, shortcut="B"), in_channels)


@pytest.mark.parametrize("preactivate_shortcut", [False, True])
def test_preact_blocks(preactivate_shortcut):
    check(preact_block(3, 6, 2, "A", preactivate_shortcut), 3)
    check(preact_block(4, 4, 1, "A", preactivate_shortcut), 4)
    check(preact_bottleneck(4, 2, 2, "B", preactivate_shortcut), 4)


@pytest.mark.parametrize("in_channels,out_channels,stride", [(4, 4, 1), (3, 6, 2)])
def test_highway_unit(in_channels, out_channels, stride):
    unit = HighwayUnit(in_channels, out_channels, stride, gate_bias=-1.0)
    check(unit, in_channels, extra=[unit.gate.weight, unit.gate.bias])


@pytest.mark.parametrize("bottleneck", [False, True])
def test_dense_layer(bottleneck):
    check(DenseLayer(5, 3, bottleneck), 5)


def test_transition():
    check(Transition(6, 3), 6)


@pytest.mark.parametrize("tableau", list_tableaux())
def test_runge_kutta_blocks(tableau):
    check(rk_block(tableau, 3, 3, 1), 3)


@pytest.mark.parametrize("factors", ["learn", "decay"])
def test_runge_kutta_block_downsampling_with_learnable_factors(factors):
    block = rk_block("rk4", 3, 5, 2, factors=factors, shortcut="A")
    check(block, 3, extra=[block.factors.a, block.factors.b])


def test_nested_runge_kutta_block():
    block = rk_block("midpoint", 3, 4, 2, inner="heun2", shortcut="B")
    check(block, 3, extra=[block.shortcut[0].weight])
    check(rk_block("kutta3", 3, 3, 1, increment=True), 3)


@pytest.mark.parametrize("in_channels,stride", [(4, 1), (3, 2)])
def test_lm_stage(in_channels, stride):
    stage = LMStage(in_channels, 4 if stride == 1 else 6, stride, n=3)
    check(stage, in_channels, extra=(stage.k,))
