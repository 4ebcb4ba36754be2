"""nn.init: gains, fans, the spread of each initialiser on a large tensor, and in-place filling."""
import math

import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.nn import init


def _weight(*shape, dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans_of_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(_weight(20, 30)) == (30, 20)
    assert init._calculate_fan_in_and_fan_out(_weight(16, 8, 3, 5)) == (8 * 15, 16 * 15)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_normal_(_weight(5))


@pytest.mark.parametrize("mode, fan", [("fan_in", 64 * 9), ("fan_out", 128 * 9)])
def test_kaiming_normal_std(mode, fan):
    minidl.manual_seed(0)
    w = init.kaiming_normal_(_weight(128, 64, 3, 3), mode=mode, nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / fan), rel=0.02)
    assert abs(w.data.mean()) < 0.01 * math.sqrt(2 / fan)


def test_kaiming_uniform_bound_and_std():
    minidl.manual_seed(1)
    w = init.kaiming_uniform_(_weight(256, 512), a=0.1)
    std = math.sqrt(2 / (1 + 0.01)) / math.sqrt(512)
    assert np.abs(w.data).max() <= math.sqrt(3) * std
    assert w.data.std() == pytest.approx(std, rel=0.02)


def test_xavier_std_and_bound():
    minidl.manual_seed(2)
    w = init.xavier_normal_(_weight(300, 200), gain=2.0)
    assert w.data.std() == pytest.approx(2.0 * math.sqrt(2 / 500), rel=0.02)
    w = init.xavier_uniform_(_weight(300, 200))
    bound = math.sqrt(6 / 500)
    assert bound * 0.99 < np.abs(w.data).max() <= bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_uniform_normal_constant_fill_in_place_in_the_tensor_dtype():
    minidl.manual_seed(3)
    w = _weight(1000, 10, dtype=np.float64)
    data = w.data
    assert init.uniform_(w, -2, 3) is w and w.data is data
    assert w.dtype == np.float64 and -2 <= w.data.min() and w.data.max() <= 3
    assert w.data.mean() == pytest.approx(0.5, abs=0.05)
    init.normal_(w, mean=1.0, std=0.5)
    assert w.data.mean() == pytest.approx(1.0, abs=0.01) and w.data.std() == pytest.approx(0.5, rel=0.02)
    init.constant_(w, 0.25)
    assert (w.data == 0.25).all()
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    assert (w.data == 1).all()


def test_draws_follow_manual_seed():
    minidl.manual_seed(7)
    a = init.normal_(_weight(5, 5)).data.copy()
    minidl.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(_weight(5, 5)).data, a)


def test_orthogonal_rows_are_orthonormal():
    minidl.manual_seed(0)
    w = init.orthogonal_(_weight(4, 10, dtype=np.float64), gain=2.0)
    np.testing.assert_allclose(w.data @ w.data.T, 4 * np.eye(4), atol=1e-6)


def test_zero_element_tensor_is_a_no_op():
    w = _weight(0, 3)
    assert init.kaiming_uniform_(w) is w and w.shape == (0, 3)
