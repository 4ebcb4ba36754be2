"""Conv2d and pooling layers: they call the functional ops with their settings; float64 gradient checks."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import gradcheck


def _x(*shape, requires_grad=False, seed=0):
    return minidl.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)


def _textbook_conv(x, w, b, stride, padding):
    """The package's plain conv (minidl/functional/textbook/conv.py): the definition, one kernel offset at a time."""
    with minidl.textbook_ops():
        return F.conv2d(x, w, b, stride, padding).data


def test_conv2d_forward_matches_the_textbook_conv():
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1).double()
    x = _x(2, 2, 5, 5)
    expected = _textbook_conv(x.data, conv.weight.data, conv.bias.data, 2, 1)
    np.testing.assert_allclose(conv(x).data, expected, atol=1e-12)


@pytest.mark.parametrize("options", [dict(stride=2, padding=1), dict(groups=2, bias=False), dict(dilation=2)])
def test_conv2d_gradcheck_float64(options):
    conv = nn.Conv2d(2, 4, 3, **options).double()
    x = _x(2, 2, 6, 6, requires_grad=True)
    params = [p for p in (conv.weight, conv.bias) if p is not None]
    assert gradcheck(lambda x, *ps: conv(x), [x, *params])


def test_pooling_layers_call_the_functional_ops():
    x = _x(2, 3, 6, 6)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, F.max_pool2d(x, 2, 2).data)
    np.testing.assert_array_equal(nn.MaxPool2d(3, 2, 1)(x).data, F.max_pool2d(x, 3, 2, 1).data)
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x).data, F.avg_pool2d(x, 2, 2).data)
    pooled = nn.AdaptiveAvgPool2d(1)(x)
    assert pooled.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(pooled.data[:, :, 0, 0], x.data.mean(axis=(2, 3)))
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"


@pytest.mark.parametrize("layer", [nn.MaxPool2d(2), nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d(1)])
def test_pooling_gradcheck_float64(layer):
    assert gradcheck(layer, [_x(2, 2, 5, 5, requires_grad=True)])


def test_small_cnn_trains_one_step():
    minidl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    x = minidl.Tensor(np.random.default_rng(0).standard_normal((6, 3, 8, 8)).astype(np.float32))
    y = np.array([0, 1, 2, 0, 1, 2])
    opt = minidl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.dtype == np.float32 for p in model.parameters())
