"""Gate statistics: with zero gate weights T = sigmoid(b_T) exactly, for every example."""
import math

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import gate_statistics


class Highway(nn.Module):
    """y = T * H(x) + (1 - T) * x with T = sigmoid(gate(x))."""

    def __init__(self, channels, bias):
        super().__init__()
        self.transform = nn.Conv2d(channels, channels, 3, padding=1)
        self.gate = nn.Conv2d(channels, channels, 1)
        nn.init.constant_(self.gate.bias, bias)

    def forward(self, x):
        t = F.sigmoid(self.gate(x))
        return t * F.relu(self.transform(x)) + (1 - t) * x


def _net(biases, zero_weights=True):
    minidl.manual_seed(0)
    net = nn.Sequential(*[Highway(3, b) for b in biases]).double()
    if zero_weights:
        for block in net:
            nn.init.zeros_(block.gate.weight)
    return net


def test_zero_gate_weights_give_sigmoid_of_the_bias_exactly():
    net = _net([-1.0, -3.0])
    x = np.random.default_rng(0).standard_normal((5, 3, 4, 4))
    stats = gate_statistics(net, x)
    assert stats.names == ["0.gate", "1.gate"]
    expected = [1 / (1 + math.exp(1.0)), 1 / (1 + math.exp(3.0))]
    np.testing.assert_allclose(stats.mean, expected, rtol=1e-15)
    np.testing.assert_allclose(stats.bias_sigmoid, expected, rtol=1e-15)
    assert np.all(stats.std_over_examples == 0) and np.all(stats.std < 1e-15)  # equal values, up to round-off
    assert stats.per_example.shape == (5, 2)
    assert "sigmoid(b)" in stats.table()


def test_statistics_of_a_live_gate_match_a_direct_computation():
    net = _net([-2.0], zero_weights=False)
    x = np.random.default_rng(1).standard_normal((6, 3, 4, 4))
    stats = gate_statistics(net, x)
    with minidl.no_grad():
        t = 1 / (1 + np.exp(-net[0].gate(minidl.Tensor(x)).data))
    np.testing.assert_allclose(stats.mean, [t.mean()], rtol=1e-12)
    np.testing.assert_allclose(stats.per_example[:, 0], t.reshape(6, -1).mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(stats.std_over_examples, [t.reshape(6, -1).mean(axis=1).std()], rtol=1e-10)
    assert stats.std_over_examples[0] > 0


def test_gates_that_output_t_directly():
    net = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())).double()
    nn.init.zeros_(net[1][0].weight)
    nn.init.constant_(net[1][0].bias, 0.5)
    stats = gate_statistics(net, np.ones((3, 4)), gates=["1"], logits=False)
    np.testing.assert_allclose(stats.mean, [1 / (1 + math.exp(-0.5))])
    assert np.isnan(stats.bias_sigmoid[0])  # the Sequential has no bias of its own
    with pytest.raises(ValueError, match="chose no gates"):
        gate_statistics(net, np.ones((3, 4)))
