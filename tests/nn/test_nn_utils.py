"""nn.utils: clip_grad_norm_ and clip_grad_value_."""
import math

import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.nn.utils import clip_grad_norm_


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = nn.Parameter(np.zeros_like(np.asarray(g, dtype=np.float32)))
        p.grad = np.asarray(g, dtype=np.float32)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together():
    params = _params_with_grads([3.0, 0.0], [[4.0]])
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad, [3 * coef, 0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad, [[4 * coef]], rtol=1e-6)
    assert params[0].grad.dtype == np.float32


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    params = _params_with_grads([0.3, 0.4])
    params.append(nn.Parameter(np.zeros(2, np.float32)))  # no gradient
    total = nn.utils.clip_grad_norm_(params, max_norm=10.0)
    assert total.item() == pytest.approx(0.5)
    np.testing.assert_allclose(params[0].grad, [0.3, 0.4], rtol=1e-6)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_other_norms():
    params = _params_with_grads([1.0, -3.0], [2.0])
    assert nn.utils.clip_grad_norm_(params, 100.0, norm_type=math.inf).item() == pytest.approx(3.0)
    params = _params_with_grads([1.0, -3.0], [2.0])
    assert nn.utils.clip_grad_norm_(params, 100.0, norm_type=1).item() == pytest.approx(6.0)


def test_clip_grad_norm_nonfinite():
    params = _params_with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    params = _params_with_grads([-5.0, 0.5, 2.0])
    nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad, [-1.0, 0.5, 1.0])


def test_clipping_scales_each_gradient_once_when_an_op_handed_one_array_to_two_leaves():
    # Add's backward gives its one gradient array to both inputs: each .grad must still be its own array,
    # or clipping scales it twice (and on a GPU a broadcast gradient would be written many times over).
    a = minidl.tensor(np.ones(3), requires_grad=True)
    b = minidl.tensor(np.ones(3), requires_grad=True)
    ((a + b) * minidl.tensor(np.array([3.0, 0.0, 4.0]))).sum().backward()
    assert a.grad is not b.grad
    clip_grad_norm_([a, b], 1.0)
    expected = np.array([3.0, 0.0, 4.0]) / np.sqrt(50)
    assert np.allclose(a.grad, expected) and np.allclose(b.grad, expected)
    c = minidl.tensor(np.ones((2, 3)), requires_grad=True)
    c.sum().backward()  # the gradient of a sum is a broadcast of ones: stored as an array of its own
    assert 0 not in c.grad.strides
    c.grad *= 2.0
    assert np.array_equal(c.grad, np.full((2, 3), 2.0))
