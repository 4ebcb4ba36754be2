"""Exact Jacobians: a linear map's Jacobian is its matrix; an orthogonal map is perfectly isometric."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import jacobian, jacobian_spectrum


def test_jacobian_of_a_linear_map_is_its_matrix():
    minidl.manual_seed(0)
    layer = nn.Linear(5, 3).double()
    x = np.random.default_rng(0).standard_normal((1, 5))
    np.testing.assert_allclose(jacobian(layer, x), layer.weight.data, rtol=0, atol=1e-14)
    np.testing.assert_allclose(jacobian(layer, x, batched=True), layer.weight.data, rtol=0, atol=1e-14)
    assert layer.weight.grad is None and layer.bias.grad is None


def test_jacobian_of_a_whole_batch_is_block_diagonal():
    minidl.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    x = np.random.default_rng(1).standard_normal((2, 3))
    expected = np.kron(np.eye(2), layer.weight.data)  # flattened (batch, features) in C order
    np.testing.assert_allclose(jacobian(layer, x), expected, atol=1e-14)


def test_jacobian_of_a_nonlinear_function_matches_the_formula():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3))
    x = rng.standard_normal((1, 4))
    j = jacobian(lambda t: F.tanh(t @ minidl.Tensor(a)), x)
    expected = (1 - np.tanh(x @ a) ** 2).reshape(-1, 1) * a.T
    np.testing.assert_allclose(j, expected, rtol=1e-12)


def test_orthogonal_map_has_unit_singular_values_and_a_small_residual_branch_stays_near_one():
    minidl.manual_seed(3)
    layer = nn.Linear(6, 6, bias=False).double()
    nn.init.orthogonal_(layer.weight)
    spectrum = jacobian_spectrum(layer, np.ones((1, 6)))
    np.testing.assert_allclose(spectrum.singular_values, np.ones(6), atol=1e-6)  # orthogonal_ draws in float32
    assert spectrum.fraction_within(0.99, 1.01) == 1.0 and abs(spectrum.mean_squared - 1) < 1e-5

    branch = nn.Linear(6, 6).double()
    branch.weight.data *= 1e-3
    residual = jacobian_spectrum(lambda t: t + F.relu(branch(t)), np.random.default_rng(3).standard_normal((1, 6)))
    assert residual.max < 1.01 and residual.min > 0.99
    assert "singular values" in residual.summary()


def test_bad_inputs_are_reported():
    layer = nn.Linear(2, 2).double()
    with pytest.raises(ValueError, match="batch dimension 1"):
        jacobian(layer, np.ones((2, 2)), batched=True)
    with pytest.raises(ValueError, match="does not depend on the input"):
        jacobian(lambda t: minidl.Tensor(np.ones(2)), np.ones(2))
