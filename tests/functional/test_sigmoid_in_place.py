"""sigmoid builds its output and its slope in place: 0-d inputs, dtypes and gradients are unaffected."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4, 5)])
def test_values_gradients_and_dtype(shape, rng):
    data = rng.standard_normal(shape) * 4
    x = minidl.tensor(data.astype(np.float32), requires_grad=True)
    y = F.sigmoid(x)
    assert y.dtype == np.float32 and y.shape == shape
    assert np.allclose(y.data, 1 / (1 + np.exp(-data)), atol=1e-6)
    y.backward(np.ones(shape, np.float32))
    s = 1 / (1 + np.exp(-data))
    assert x.grad.dtype == np.float32 and np.allclose(x.grad, s * (1 - s), atol=1e-6)
    assert gradcheck(F.sigmoid, [minidl.tensor(data, requires_grad=True)])


def test_input_and_incoming_gradient_are_not_modified(rng):
    data = rng.standard_normal((4, 5)).astype(np.float32)
    g = rng.standard_normal((4, 5)).astype(np.float32)
    x = minidl.tensor(data.copy(), requires_grad=True)
    F.sigmoid(x).backward(g.copy())
    assert np.array_equal(x.data, data)
    grad_in = g.copy()
    F.sigmoid(minidl.tensor(data, requires_grad=True)).backward(grad_in)
    assert np.array_equal(grad_in, g)
