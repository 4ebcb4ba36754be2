"""minidl.profile(): per-op counts and times, forward and backward, shares, and no effect on results."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.autograd import function
from minidl.profiler import ACCUMULATE, OUTSIDE, profile


def _graph(rng):
    x = minidl.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = minidl.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    h = F.relu(x @ w)
    return x, w, (h * h + h).sum()


def test_counts_forward_and_backward_calls_per_op_type(rng):
    with profile() as prof:
        _graph(rng)[2].backward()
    rows = {r["name"]: r for r in prof.rows()}
    assert rows["MatMul"]["forward_calls"] == 1 and rows["MatMul"]["backward_calls"] == 1
    assert rows["ReLUFunction"]["forward_calls"] == 1 and rows["ReLUFunction"]["backward_calls"] == 1
    assert rows["Mul"]["forward_calls"] == 1 and rows["Add"]["forward_calls"] == 1
    # h reaches the loss three times (both factors of h * h, and + h): its three gradients take two sums
    assert rows[ACCUMULATE]["backward_calls"] == 2 and rows[ACCUMULATE]["forward_calls"] == 0
    assert rows[OUTSIDE]["forward_calls"] == 0
    assert prof.op_calls() == sum(r["forward_calls"] + r["backward_calls"] for r in rows.values())


def test_times_are_self_times_that_add_up_to_the_block(rng):
    with profile() as prof:
        _, _, loss = _graph(rng)
        loss.backward()
    rows = prof.rows()
    assert all(r["total_s"] >= 0 and abs(r["total_s"] - r["forward_s"] - r["backward_s"]) < 1e-12
               for r in rows if r["name"] != OUTSIDE)
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert prof.total > 0 and rows[-1]["name"] == OUTSIDE
    shares = [r["total_s"] for r in rows[:-1]]
    assert shares == sorted(shares, reverse=True)


def test_nested_ops_are_charged_only_their_own_time():
    class Outer(minidl.Function):
        def forward(self, x):
            inner = F.exp(minidl.Tensor(x))  # an op run inside another op's forward
            return inner.data + 1

        def backward(self, grad):
            return (grad,)

    with profile() as prof:
        Outer.apply(minidl.tensor(np.ones(3), requires_grad=True))
    rows = {r["name"]: r for r in prof.rows()}
    assert rows["Exp"]["forward_calls"] == 1 and rows["Outer"]["forward_calls"] == 1
    assert rows["Outer"]["forward_s"] + rows["Exp"]["forward_s"] <= prof.total


def test_results_are_the_same_with_and_without_profile(rng):
    state = rng.bit_generator.state
    x1, w1, loss1 = _graph(rng)
    loss1.backward()
    rng.bit_generator.state = state
    with profile():
        x2, w2, loss2 = _graph(rng)
        loss2.backward()
    assert loss1.item() == loss2.item()
    assert np.array_equal(x1.grad, x2.grad) and np.array_equal(w1.grad, w2.grad)


def test_steps_give_per_step_figures_and_a_markdown_table(rng):
    with profile(steps=2) as prof:
        for _ in range(2):
            _graph(rng)[2].backward()
    rows = {r["name"]: r for r in prof.rows()}
    assert rows["MatMul"]["forward_calls"] == 1
    table = prof.table()
    assert table.startswith("| op |") and "| MatMul | 1 |" in table and "**step**" in table
    assert str(prof) == table


def test_hook_is_removed_after_the_block_even_on_error():
    with pytest.raises(ZeroDivisionError):
        with profile():
            assert function.profiler is not None
            1 / 0
    assert function.profiler is None


def test_profiles_do_not_nest_and_steps_must_be_positive():
    with profile():
        with pytest.raises(RuntimeError, match="already recording"):
            with profile():
                pass
    assert function.profiler is None
    with pytest.raises(ValueError, match="steps must be a positive int"):
        profile(steps=0)


def test_profile_of_a_zoo_training_step():
    model = minidl.models.create("resnet20")
    x = minidl.tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    with profile() as prof:
        F.cross_entropy(model(x), np.array([1, 2])).backward()
    rows = {r["name"]: r for r in prof.rows()}
    # the 17 stride-1 3x3 convs take Winograd, the 2 stride-2 ones im2col
    assert rows["conv2d[winograd]"]["forward_calls"] == 17 and rows["conv2d[winograd]"]["backward_calls"] == 17
    assert rows["conv2d[im2col]"]["forward_calls"] == 2 and rows["conv2d[im2col]"]["backward_calls"] == 2
    assert rows["LinearFunction"]["forward_calls"] == 1


def test_a_given_clock_is_used_for_every_time():
    ticks = iter(range(1000))
    with profile(clock=lambda: float(next(ticks))) as prof:
        F.exp(minidl.tensor(np.ones(3), requires_grad=True)).sum().backward()
    rows = {r["name"]: r for r in prof.rows()}
    assert rows["Exp"]["forward_s"] == 1.0  # one tick between the start and the end of Exp.forward
    assert prof.total == 9.0  # enter, 2 ticks for each of Exp and Sum forward and backward, exit
    with pytest.raises(TypeError, match="clock must be a function"):
        profile(clock=3)
