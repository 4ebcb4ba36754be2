"""Lesion study: removing a block whose residual branch is zero changes nothing; removing an essential plain
block breaks the model; blocks that cannot be removed are reported, and every block is restored."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import LesionShapeError, has_skip, lesion_study, lesioned, random_lesions, skip_output
from minidl.analysis.shattered import ResidualBlock


class PlainBlock(nn.Module):
    """A block without a shortcut (as in the zoo's plain nets, which keep `shortcut = None`)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.shortcut = None

    def forward(self, x):
        return self.layer(x)


def _data(n=200, features=4, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    return x, x.argmax(axis=1)


def _residual_model(zero_branch):
    minidl.manual_seed(0)
    branch = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    if zero_branch:
        nn.init.zeros_(branch[2].weight)
        nn.init.zeros_(branch[2].bias)
    model = nn.Sequential(ResidualBlock(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))),
                          ResidualBlock(branch))
    return model.double()


def test_removing_a_zero_branch_leaves_the_output_unchanged():
    model = _residual_model(zero_branch=True)
    x, y = _data()
    with minidl.no_grad():
        intact = model(minidl.Tensor(x)).data
        with lesioned(model, ["1"]) as removed:
            assert removed == ["1"]
            lesioned_out = model(minidl.Tensor(x)).data
        after = model(minidl.Tensor(x)).data
    assert np.array_equal(intact, lesioned_out) and np.array_equal(intact, after)
    result = lesion_study(model, (x, y))
    assert result.blocks == ["0", "1"]
    assert result.lesions[1].accuracy == result.baseline
    assert "intact model" in result.table()


def test_removing_an_essential_plain_block_breaks_the_model():
    layer = nn.Linear(4, 4, bias=False).double()
    layer.weight.data[...] = -np.eye(4)
    model = nn.Sequential(PlainBlock(layer))
    x, _ = _data()
    y = (-x).argmax(axis=1)            # the block's negation is what makes the answers right
    result = lesion_study(model, (x, y))
    assert result.baseline == 1.0 and result.lesions[0].accuracy == 0.0
    assert model.training  # the study's eval mode is undone


def test_a_block_that_changes_the_shape_cannot_be_removed():
    model = nn.Sequential(PlainBlock(nn.Linear(4, 4)), PlainBlock(nn.Linear(4, 3))).double()
    x, y = _data(classes=3)
    y = y % 3
    result = lesion_study(model, (x, y))
    assert result.lesions[0].accuracy is not None
    assert result.lesions[1].accuracy is None and "skip path (4,)" in result.lesions[1].note
    assert np.isnan(result.single_accuracies()[1]) and not np.isnan(result.single_accuracies()[0])
    with pytest.raises(LesionShapeError, match="'1'"):
        with lesioned(model, ["1"], expected_shapes={"1": (3,)}):
            model(minidl.Tensor(x))


def test_skip_protocol_order():
    class WithSkip(ResidualBlock):
        def skip_forward(self, x):
            return x * 2

    x = minidl.Tensor(np.ones((1, 2)))
    plain = PlainBlock(nn.Linear(2, 2))
    assert skip_output(plain, x) is x
    assert np.array_equal(skip_output(WithSkip(nn.Linear(2, 2)), x).data, [[2.0, 2.0]])
    assert np.array_equal(skip_output(plain, x, skip=lambda block, t: t * 3).data, [[3.0, 3.0]])
    assert has_skip("", plain) and has_skip("", WithSkip(nn.Linear(2, 2))) and not has_skip("", nn.Linear(2, 2))


def test_several_blocks_at_once_and_random_lesions():
    model = nn.Sequential(*[ResidualBlock(nn.Linear(4, 4)) for _ in range(4)]).double()
    picks = random_lesions(range(4), 2, count=5, seed=1)
    assert len(picks) == 5 and len(set(picks)) == 5 and all(len(p) == 2 for p in picks)
    x, y = _data()
    result = lesion_study(model, (x, y), lesions=[(0, 2), "3"])
    assert [l.removed for l in result.lesions] == [("0", "2"), ("3",)]
    with minidl.no_grad(), lesioned(model, ["0", "1", "2", "3"]):
        assert np.array_equal(model(minidl.Tensor(x)).data, x)  # every block gone: the identity
    with pytest.raises(ValueError):
        random_lesions(range(3), 4, count=1)
