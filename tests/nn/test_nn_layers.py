"""Layers: forward values, default initialisation, batch-norm buffers, float64 gradient checks."""
import math

import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.analysis import gradcheck


def _x(*shape, dtype=np.float64, requires_grad=False, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return minidl.Tensor(data, requires_grad=requires_grad)


def test_linear_forward_and_default_init_bounds():
    minidl.manual_seed(0)
    layer = nn.Linear(400, 50)
    assert layer.weight.shape == (50, 400) and layer.bias.shape == (50,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.99 * bound  # uniform over the whole interval
    x = _x(7, 400, dtype=np.float32)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data, rtol=1e-5, atol=1e-6)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_initialisation_is_seeded_and_dtype_independent():
    minidl.manual_seed(3)
    a = nn.Linear(5, 4)
    minidl.manual_seed(3)
    b = nn.Linear(5, 4, dtype=np.float64)
    np.testing.assert_array_equal(a.weight.data, b.weight.data.astype(np.float32))
    minidl.manual_seed(4)
    assert not np.array_equal(nn.Linear(5, 4).weight.data, a.weight.data)


def test_linear_gradcheck_float64():
    layer = nn.Linear(4, 3).double()
    x = _x(5, 4, requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_batchnorm2d_updates_buffers_like_pytorch():
    bn = nn.BatchNorm2d(3).double()
    x = _x(4, 3, 5, 5)
    out = bn(x)
    mean = x.data.mean(axis=(0, 2, 3))
    var_unbiased = x.data.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * mean)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * var_unbiased)
    assert int(bn.num_batches_tracked.item()) == 1
    normalised = (x.data - mean[None, :, None, None]) / np.sqrt(x.data.var(axis=(0, 2, 3)) + 1e-5)[None, :, None, None]
    np.testing.assert_allclose(out.data, normalised, atol=1e-12)
    bn.eval()
    expected = (x.data - bn.running_mean.data[None, :, None, None]) / np.sqrt(
        bn.running_var.data[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(bn(x).data, expected, atol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 1  # eval does not count


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    a, b = _x(6, 2, seed=1), _x(6, 2, seed=2)
    bn(a), bn(b)
    np.testing.assert_allclose(bn.running_mean.data, (a.data.mean(0) + b.data.mean(0)) / 2)
    assert int(bn.num_batches_tracked.item()) == 2


def test_batchnorm_without_running_stats_or_affine():
    bn = nn.BatchNorm2d(2, affine=False, track_running_stats=False).double()
    assert list(bn.parameters()) == [] and list(bn.buffers()) == [] and bn.state_dict() == {}
    x = _x(3, 2, 4, 4)
    bn.eval()  # no running statistics: batch statistics are used in eval mode too
    np.testing.assert_allclose(bn(x).data.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_batchnorm_defaults_and_input_checks():
    bn = nn.BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight.data, np.ones(4))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(4))
    with pytest.raises(ValueError, match="expected 4-D input, got shape \\(2, 4\\)"):
        bn(_x(2, 4, dtype=np.float32))
    assert nn.BatchNorm1d(4)(_x(5, 4, 3, dtype=np.float32)).shape == (5, 4, 3)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_gradcheck_float64(training):
    bn = nn.BatchNorm2d(3).double()
    bn.running_mean.data[...] = [0.1, -0.2, 0.3]
    bn.running_var.data[...] = [0.5, 1.5, 2.0]
    bn.weight.data[...] = [1.5, -0.5, 2.0]
    bn.bias.data[...] = [0.1, 0.2, 0.3]
    bn.train(training)
    x = _x(4, 3, 3, 3, requires_grad=True)
    assert gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


def test_batchnorm1d_gradcheck_float64():
    bn = nn.BatchNorm1d(3).double()
    assert gradcheck(lambda x, w, b: bn(x), [_x(6, 3, requires_grad=True), bn.weight, bn.bias])


def test_activations_match_their_formulas():
    x = _x(4, 5)
    np.testing.assert_array_equal(nn.ReLU()(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(x).data, np.where(x.data > 0, x.data, 0.2 * x.data))
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


def test_dropout_flatten_identity():
    minidl.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = minidl.Tensor(np.ones((200, 50), np.float32))
    out = drop(x).data
    assert abs((out == 0).mean() - 0.25) < 0.02
    np.testing.assert_allclose(out[out != 0], 1 / 0.75)
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        nn.Dropout(1.5)
    assert nn.Flatten()(_x(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten(0, 1)(_x(2, 3, 4)).shape == (6, 4)
    y = _x(3)
    assert nn.Identity(54, unused=1)(y) is y


def test_conv2d_construction_init_and_repr():
    minidl.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
    assert conv.weight.shape == (16, 8, 3, 3) and conv.bias is None
    bound = 1 / math.sqrt(8 * 9)
    assert bound * 0.98 < np.abs(conv.weight.data).max() <= bound
    assert repr(conv) == "Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"
    grouped = nn.Conv2d(4, 8, (1, 3), groups=2)
    assert grouped.weight.shape == (8, 2, 1, 3)
    assert np.abs(grouped.bias.data).max() <= 1 / math.sqrt(2 * 3)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 6, 3, padding_mode="reflect")
