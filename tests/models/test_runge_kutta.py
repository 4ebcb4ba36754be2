"""Runge-Kutta blocks are Runge-Kutta methods: consistent tableaux, Euler = ResNet, and the convergence
order of one block used as an integrator of x' = Ax (every F_i the same linear map z -> hAz)."""
import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.models import RKBlock, Tableau, create, get_tableau, list_tableaux
from minidl.models.butcher import check_tableau
from minidl.models.rk import rk_resnet


@pytest.mark.parametrize("name", list_tableaux())
def test_tableau_is_consistent(name):
    t = get_tableau(name)
    assert t.stages == len(t.A) == len(t.c)
    eps = np.finfo(np.float64).eps  # sums of correctly rounded values: off by a few ulps of what is summed
    assert abs(sum(t.b) - 1) <= 8 * eps * sum(map(abs, t.b))
    for i in range(t.stages):
        assert abs(sum(t.A[i]) - t.c[i]) <= 8 * eps * (1 + sum(map(abs, t.A[i])))
        assert all(a == 0 for a in t.A[i][i:])


def test_copied_tableaux_are_the_expected_methods():
    assert get_tableau("rk4").b == (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    verner = get_tableau("verner8")
    assert (verner.stages, verner.order) == (14, 8)
    assert verner.b[7] == -27 / 140 and verner.b[1:7] == (0.0,) * 6


def test_inconsistent_tableaux_are_refused():
    rk8 = get_tableau("verner8")
    sign_bug = list(rk8.b)
    sign_bug[7] = 27 / 140  # the published HO-ResNet code's Verner b8 (tools/tableaux/README.md): sum b = 97/70
    with pytest.raises(ValueError, match="must sum to 1"):
        check_tableau("ho-resnet-rk8", rk8.A, sign_bug, rk8.c)
    with pytest.raises(ValueError, match=r"c\[1\] = 0.25 differs from the row sum"):
        Tableau("bad-c", ((0, 0), (0.5, 0)), (0, 1), (0, 0.25), 2)
    with pytest.raises(ValueError, match="strictly lower triangular"):
        Tableau("implicit", ((0.5, 0), (0.5, 0)), (0, 1), (0.5, 0.5), 2)
    with pytest.raises(ValueError, match="did you mean rk4"):
        get_tableau("rk44")


def test_euler_tableau_gives_back_the_resnet():
    x = minidl.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32))
    minidl.manual_seed(3)
    resnet = create("resnet26")
    minidl.manual_seed(3)
    euler = rk_resnet(26, tableau="euler")
    assert np.array_equal(resnet(x).numpy(), euler(x).numpy())


@pytest.mark.parametrize("factors", ["learn", "decay"])
def test_learnable_factors_start_at_the_tableau(factors):
    minidl.manual_seed(0)
    fixed = rk_resnet(26, tableau="rk4")
    minidl.manual_seed(0)
    learnable = rk_resnet(26, tableau="rk4", factors=factors)
    x = minidl.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32))
    assert np.allclose(fixed(x).numpy(), learnable(x).numpy(), rtol=1e-5, atol=1e-6)
    block_factors = learnable.stages[1][0].factors
    start = [0.0] * 4 if factors == "learn" else [1 / 6, 1 / 3, 1 / 3, 1 / 6]  # "learn" holds the offset
    assert np.allclose(block_factors.b.numpy(), start)
    block_factors.b.data[0] += 1.0  # changing a factor changes the block
    assert not np.allclose(fixed(x).numpy(), learnable(x).numpy(), rtol=1e-5, atol=1e-6)


class LinearField(nn.Module):
    """z -> z (hA)^T: the vector field hAz of x' = Ax for row-vector states."""

    def __init__(self, matrix):
        super().__init__()
        self.matrix = minidl.tensor(matrix.T)

    def forward(self, z):
        return z @ self.matrix


def global_error(tableau, steps, T=1.0):
    rng = np.random.default_rng(0)
    V = np.eye(4) + 0.3 * rng.standard_normal((4, 4))
    lam = np.array([-2.0, -1.0, -0.5, 0.5])
    A = V @ np.diag(lam) @ np.linalg.inv(V)
    x0 = rng.standard_normal((3, 4))
    exact = x0 @ (V @ np.diag(np.exp(lam * T)) @ np.linalg.inv(V)).T
    field = LinearField(A * (T / steps))
    block = RKBlock(tableau, [field] * get_tableau(tableau).stages, activation=False)
    x = minidl.tensor(x0)
    for _ in range(steps):
        x = block(x)
    return np.abs(x.numpy() - exact).max()


STEPS = {1: (16, 32, 64, 128), 2: (8, 16, 32, 64), 3: (4, 8, 16, 32), 4: (4, 8, 16, 32), 8: (6, 8, 10, 12)}  # RK8: errors 2e-10 .. 7e-13


@pytest.mark.parametrize("tableau", list_tableaux())
def test_block_integrates_at_the_tableau_order(tableau):
    order = get_tableau(tableau).order
    steps = np.array(STEPS[order])
    errors = np.array([global_error(tableau, n) for n in steps])
    assert errors.max() < 0.1 and errors.min() > 1e-13  # asymptotic, and far above float64 round-off
    slope = np.polyfit(np.log(1.0 / steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3, (tableau, slope, errors)
