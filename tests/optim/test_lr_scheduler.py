"""Learning-rate schedules: each curve against its closed-form formula over many steps, and state round trips."""
import math

import numpy as np
import pytest

from minidl import nn, optim
from minidl.optim import lr_scheduler as S

BASE = 0.1


def _sgd(lr=BASE, momentum=0.9, groups=1):
    params = [{"params": [nn.Parameter(np.ones(1))], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(params, lr=lr, momentum=momentum)


def _curve(scheduler, steps):
    """The lr of group 0 at epochs 0..steps-1 (the optimizer's and get_last_lr's must agree)."""
    lrs = []
    for _ in range(steps):
        assert scheduler.get_last_lr()[0] == scheduler.optimizer.param_groups[0]["lr"]
        lrs.append(scheduler.get_last_lr()[0])
        scheduler.optimizer.step()
        scheduler.step()
    return lrs


def _cos(start, end, pct):
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def test_step_lr():
    got = _curve(S.StepLR(_sgd(), step_size=7, gamma=0.5), 50)
    np.testing.assert_allclose(got, [BASE * 0.5 ** (t // 7) for t in range(50)], rtol=1e-12)


def test_multistep_lr():
    got = _curve(S.MultiStepLR(_sgd(), milestones=[30, 10, 25], gamma=0.1), 40)
    expected = [BASE * 0.1 ** sum(t >= m for m in (10, 25, 30)) for t in range(40)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_exponential_and_lambda_and_constant():
    np.testing.assert_allclose(_curve(S.ExponentialLR(_sgd(), gamma=0.95), 30),
                               [BASE * 0.95 ** t for t in range(30)], rtol=1e-12)
    np.testing.assert_allclose(_curve(S.LambdaLR(_sgd(), lambda t: 1 / (t + 1)), 20),
                               [BASE / (t + 1) for t in range(20)], rtol=1e-12)
    np.testing.assert_allclose(_curve(S.ConstantLR(_sgd(), factor=0.25, total_iters=4), 10),
                               [BASE * (0.25 if t < 4 else 1) for t in range(10)], rtol=1e-12)


def test_linear_lr():
    got = _curve(S.LinearLR(_sgd(), start_factor=0.1, end_factor=0.9, total_iters=10), 30)
    expected = [BASE * (0.1 + 0.8 * min(t, 10) / 10) for t in range(30)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_cosine_annealing_lr():
    got = _curve(S.CosineAnnealingLR(_sgd(), T_max=40, eta_min=0.001), 100)
    expected = [0.001 + (BASE - 0.001) * (1 + math.cos(math.pi * t / 40)) / 2 for t in range(100)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got[40] == pytest.approx(0.001) and got[80] == pytest.approx(BASE)


def test_every_group_follows_its_own_base_lr():
    scheduler = S.CosineAnnealingLR(_sgd(groups=2), T_max=10)
    _curve(scheduler, 5)
    cosine = (1 + math.cos(math.pi * 5 / 10)) / 2
    assert scheduler.get_last_lr() == pytest.approx([BASE * cosine, 2 * BASE * cosine])


def test_sequential_linear_warmup_then_cosine():
    opt = _sgd()
    warmup = S.LinearLR(opt, start_factor=0.01, total_iters=5)
    cosine = S.CosineAnnealingLR(opt, T_max=45)
    scheduler = S.SequentialLR(opt, [warmup, cosine], milestones=[5])
    got = _curve(scheduler, 60)
    expected = [BASE * (0.01 + 0.99 * t / 5) if t < 5 else BASE * (1 + math.cos(math.pi * (t - 5) / 45)) / 2
                for t in range(60)]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def _one_cycle_reference(t, total, max_lr, pct_start=0.3, div=25.0, final_div=1e4):
    up = pct_start * total - 1
    initial, minimum = max_lr / div, max_lr / div / final_div
    if t <= up:
        return _cos(initial, max_lr, t / up), _cos(0.95, 0.85, t / up)
    pct = (t - up) / (total - 1 - up)
    return _cos(max_lr, minimum, pct), _cos(0.85, 0.95, pct)


def test_one_cycle_lr_and_momentum():
    opt = _sgd(momentum=0.0)
    scheduler = S.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    lrs, momenta = [], []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        scheduler.step()
    reference = [_one_cycle_reference(t, 100, 1.0) for t in range(100)]
    np.testing.assert_allclose(lrs, [r[0] for r in reference], rtol=1e-12)
    np.testing.assert_allclose(momenta, [r[1] for r in reference], rtol=1e-12)
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    with pytest.raises(ValueError, match="total_steps=100"):
        scheduler.step()


def test_one_cycle_cycles_adam_beta1_and_linear_and_three_phase():
    opt = optim.Adam([nn.Parameter(np.ones(1))], lr=1.0, betas=(0.9, 0.99))
    scheduler = S.OneCycleLR(opt, max_lr=0.01, epochs=4, steps_per_epoch=5, anneal_strategy="linear")
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(3):
        scheduler.step()
    # linear phase 1 ends at step 0.3 * 20 - 1 = 5: at step 3 we are 3/5 of the way
    assert scheduler.get_last_lr()[0] == pytest.approx(0.0004 + (0.01 - 0.0004) * 3 / 5)
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.95 - 0.1 * 3 / 5)

    three = S.OneCycleLR(_sgd(), max_lr=1.0, total_steps=20, three_phase=True)
    lrs = _curve(three, 20)
    assert lrs[5] == pytest.approx(1.0) and lrs[10] == pytest.approx(0.04)  # up until 5, down until 10
    assert lrs[19] == pytest.approx(0.04 / 1e4)


def test_one_cycle_errors():
    with pytest.raises(ValueError, match="cycle_momentum"):
        class NoMomentum(optim.Optimizer):
            def __init__(self, params):
                super().__init__(params, dict(lr=0.1))
        S.OneCycleLR(NoMomentum([nn.Parameter(np.ones(1))]), max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(_sgd(), max_lr=1.0)


@pytest.mark.parametrize("make", [
    lambda opt: S.StepLR(opt, step_size=3),
    lambda opt: S.CosineAnnealingLR(opt, T_max=12),
    lambda opt: S.OneCycleLR(opt, max_lr=0.5, total_steps=20),
    lambda opt: S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=4), S.CosineAnnealingLR(opt, T_max=16)],
                               milestones=[4]),
    lambda opt: S.LambdaLR(opt, lambda t: 0.9 ** t)])
def test_state_dict_round_trip_continues_the_curve(make):
    opt_a = _sgd()
    sched_a = make(opt_a)
    _curve(sched_a, 6)
    opt_b = _sgd()
    sched_b = make(opt_b)
    opt_b.load_state_dict(opt_a.state_dict())
    sched_b.load_state_dict(sched_a.state_dict())
    assert _curve(sched_b, 10) == _curve(sched_a, 10)


def test_resuming_needs_initial_lr_and_rejects_non_optimizers():
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(_sgd(), step_size=2, last_epoch=3)
    with pytest.raises(TypeError, match="expected an Optimizer"):
        S.StepLR(object(), step_size=2)
