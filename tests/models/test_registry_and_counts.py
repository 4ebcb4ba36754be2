"""The registry (names, errors, overrides) and the parameter counts the papers' layouts fix (docs/references.md
[computed2026]): exact for ResNet, plain, pre-activation and DenseNet, equal to the Euler ResNet for RK stacks."""
import pytest

from minidl import models
from minidl.models import create, list_models
from minidl.models.rk import rk_resnet

REQUIRED = ["plain20", "plain32", "plain44", "plain56", "plain110", "resnet20", "resnet26", "resnet32", "resnet44",
            "resnet56", "resnet86", "resnet110", "resnet1202", "resnet20_b", "preact_resnet20", "preact_resnet56",
            "preact_resnet110", "preact_resnet164_bottleneck", "resnet164_bottleneck", "highway20", "highway56",
            "highway110", "densenet40", "densenet_bc100", "midpoint_resnet26", "rk4_resnet26", "rk8_resnet86"]

EXACT = {
    "resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018, "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
    "resnet20_b": 272_474, "resnet32_b": 466_906, "resnet44_b": 661_338, "resnet56_b": 855_770,
    "resnet110_b": 1_730_714,
    "preact_resnet164_bottleneck": 1_703_258,
    "densenet40": 1_019_722, "densenet100": 6_979_642, "densenet_bc100": 769_162,
}
SAME_AS = {"plain20": "resnet20", "plain32": "resnet32", "plain44": "resnet44", "plain56": "resnet56",
           "plain110": "resnet110", "midpoint_resnet26": "resnet26", "rk4_resnet26": "resnet26",
           "rk4_resnet50": "resnet50", "rk8_resnet86": "resnet86"}


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_the_required_names_are_registered():
    names = list_models()
    assert [n for n in REQUIRED if n not in names] == []
    assert len(names) == len(set(names))
    assert list_models("plain*") == ["plain20", "plain32", "plain44", "plain56", "plain110"]


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"unknown model 'resnet21'.*did you mean.*resnet20"):
        create("resnet21")
    with pytest.raises(ValueError, match="list_models"):
        create("no-such-thing")


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_parameter_counts(name):
    assert count(create(name)) == EXACT[name]


@pytest.mark.parametrize("name", sorted(SAME_AS))
def test_counts_equal_their_resnet(name):
    assert count(create(name)) == count(create(SAME_AS[name]))


def test_lm_resnet_adds_one_factor_per_two_step_unit_to_the_preact_resnet():
    # n - 1 two-step units in each of the 3 stages (the stage's first unit is a plain residual step)
    assert count(create("lm_resnet20")) == count(create("preact_resnet20")) + 3 * 2
    assert count(create("lm_resnet56")) == count(create("preact_resnet56")) + 3 * 8


def test_num_classes_and_overrides():
    model = create("resnet20", num_classes=100)
    assert model.fc.weight.shape == (100, 64)
    assert count(create("plain20", num_classes=100)) == count(model)
    assert count(create("resnet20", shortcut="B")) == EXACT["resnet20_b"]
    assert create("highway20", gate_bias=-3.0).stages[0][0].gate.bias.data.tolist() == [-3.0] * 16


def test_bad_depths_are_refused_clearly():
    with pytest.raises(ValueError, match=r"resnet21: depth must be 6n \+ 2"):
        models.resnet.resnet(21)
    with pytest.raises(ValueError, match=r"9n \+ 2"):
        models.preact.preact_resnet(57, bottleneck=True)
    with pytest.raises(ValueError, match="3N \\+ 4"):
        models.densenet.densenet(41)
    with pytest.raises(ValueError, match="4 residual branches, which does not divide the n = 3"):
        rk_resnet(20, tableau="rk4")
    with pytest.raises(ValueError, match="unknown Butcher tableau 'rk5'"):
        rk_resnet(26, tableau="rk5")


def test_nested_rk_keeps_the_parameter_count():
    # midpoint over midpoint: 2 x 2 = 4 branches per block, resnet26 has n = 4 per stage
    assert count(rk_resnet(26, tableau="midpoint", nested=True)) == count(create("resnet26"))
    assert count(rk_resnet(50, tableau="rk4", nested=True, inner="midpoint")) == count(create("resnet50"))
    with pytest.raises(ValueError, match="16 residual branches"):
        rk_resnet(26, tableau="rk4", nested=True)


@pytest.mark.parametrize("factors", ["learn", "decay"])
def test_learnable_factors_add_one_parameter_per_nonzero_tableau_entry(factors):
    rk4 = models.get_tableau("rk4")
    nonzero = sum(1 for row in rk4.A for a in row if a) + sum(1 for b in rk4.b if b)  # 3 + 4
    model = create("rk4_resnet26", factors=factors)
    assert count(model) == count(create("resnet26")) + 3 * nonzero  # one RK4 block per stage


def test_init_he_fan_modes():
    """The zoo's convs start with std sqrt(2 / fan_out); init_he(model, "fan_in", classifier=True) gives
    sqrt(2 / fan_in) to the convs and the classifier. The stem (3 -> 16 channels, 3x3) tells the two apart."""
    import minidl
    minidl.manual_seed(0)
    model = create("resnet20")
    stem = model.stem[0].weight
    assert abs(stem.numpy().std() / (2 / (9 * 16)) ** 0.5 - 1) < 0.15
    assert abs(model.fc.weight.numpy().std() / (1 / (3 * 64)) ** 0.5 - 1) < 0.15  # nn.Linear's default
    models.init_he(model, "fan_in", classifier=True)
    assert abs(stem.numpy().std() / (2 / (9 * 3)) ** 0.5 - 1) < 0.15
    assert abs(model.fc.weight.numpy().std() / (2 / 64) ** 0.5 - 1) < 0.15
