"""Optimizer parameter groups and state dicts: layout as PyTorch's, and a round trip that continues identically."""
import numpy as np
import pytest

import minidl
from minidl import nn, optim


def _model(seed=0):
    minidl.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def _train(model, opt, steps, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = minidl.Tensor(rng.standard_normal((16, 4)).astype(np.float32))
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()


def test_param_groups_with_their_own_lr():
    model = _model()
    opt = optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.0}],
                    lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.0]
    assert opt.param_groups[1]["momentum"] == 0.9  # filled from the defaults
    frozen = model[2].weight.numpy().copy()
    first = model[0].weight.numpy().copy()
    _train(model, opt, 2)
    np.testing.assert_array_equal(model[2].weight.data, frozen)
    assert not np.array_equal(model[0].weight.data, first)


def test_add_param_group():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="not a set"):
        opt.add_param_group({"params": {nn.Parameter(np.ones(1))}})


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.AdamW])
@pytest.mark.parametrize("argument", ["lr", "momentum", "weight_decay"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_a_non_finite_hyperparameter_is_refused_up_front(make, argument, value):
    """A NaN lr would only surface steps later as a NaN loss; the optimizer names it where it was given."""
    p = nn.Parameter(np.ones(2))
    if argument == "momentum" and make is not optim.SGD:
        argument = "eps"  # Adam's momentum lives in betas, checked below
    with pytest.raises(ValueError, match=f"{make.__name__}: .*{argument}.*{value}"):
        make([p], **{"lr": 0.1, argument: value})
    opt = make([p], lr=0.1)
    with pytest.raises(ValueError, match=f"{make.__name__}: {argument} must be a finite number, got {value}"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], argument: value})
    assert len(opt.param_groups) == 1


def test_non_finite_adam_betas_are_refused():
    with pytest.raises(ValueError, match="Adam: betas"):
        optim.Adam([nn.Parameter(np.ones(1))], betas=(float("nan"), 0.999))
    opt = optim.Adam([nn.Parameter(np.ones(1))])
    with pytest.raises(ValueError, match=r"Adam: betas must be a finite number, got \(0.9, inf\)"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))], "betas": (0.9, float("inf"))})


def test_state_dict_layout_uses_parameter_indices():
    model = _model()
    opt = optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}],
                    lr=0.1, momentum=0.9)
    _train(model, opt, 1)
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2, 3]]
    assert state["param_groups"][1]["lr"] == 0.01
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert state["state"][2]["momentum_buffer"].shape == (2, 8)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01)])
def test_round_trip_through_a_file_continues_identically(make, tmp_path):
    model_a = _model()
    opt_a = make(model_a.parameters())
    _train(model_a, opt_a, 3)
    minidl.save({"model": model_a.state_dict(), "optimizer": opt_a.state_dict()}, tmp_path / "ckpt.npz")

    model_b = _model(seed=5)
    opt_b = make(model_b.parameters())
    saved = minidl.load(tmp_path / "ckpt.npz")
    model_b.load_state_dict(saved["model"])
    opt_b.load_state_dict(saved["optimizer"])

    _train(model_a, opt_a, 3, seed=2)
    _train(model_b, opt_b, 3, seed=2)
    for (name, a), b in zip(model_a.named_parameters(), model_b.parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_loaded_state_is_a_copy_in_the_parameter_dtype():
    p = nn.Parameter(np.ones(2, np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    saved = {"state": {0: {"momentum_buffer": np.array([1.0, 2.0])}},
             "param_groups": [{"lr": 0.5, "momentum": 0.9, "dampening": 0, "weight_decay": 0, "nesterov": False,
                               "params": [0]}]}
    opt.load_state_dict(saved)
    buf = opt.state[p]["momentum_buffer"]
    assert buf.dtype == np.float32 and opt.param_groups[0]["lr"] == 0.5
    p.grad = np.ones(2, np.float32)
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0, 2.0])


def test_load_state_dict_rejects_a_different_layout():
    opt = optim.SGD([nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))], lr=0.1)
    other = optim.SGD([nn.Parameter(np.ones(1))], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="sizes differ: saved \\[1\\], this optimizer \\[2\\]"):
        opt.load_state_dict(other)
    two_groups = optim.SGD([{"params": [nn.Parameter(np.ones(1))]}, {"params": [nn.Parameter(np.ones(1))]}], lr=0.1)
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(two_groups.state_dict())


def test_repr_lists_the_groups():
    text = repr(optim.SGD([nn.Parameter(np.ones(1))], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text
