"""Feature reuse on a hand-built dense block whose weights encode which source each channel came from."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import feature_reuse


class Dense(nn.Module):
    def __init__(self, in_channels, growth):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return F.cat([x, self.conv(x)], dim=1)


def _block(k0=3, k=2, layers=3):
    block = nn.Sequential(*[Dense(k0 + i * k, k) for i in range(layers)],
                          nn.Sequential(nn.BatchNorm2d(k0 + layers * k), nn.Conv2d(k0 + layers * k, 4, 1)))
    convs = [m.conv for m in list(block)[:layers]] + [block[layers][1]]
    for t, conv in enumerate(convs):
        # The weight on every channel from source s is +-(10 (t + 1) + s): that is what mean |w| must give.
        sources = [0] * k0 + [s for s in range(1, t + 1) for _ in range(k)]
        signs = np.where(np.arange(conv.weight.data.size) % 2, 1.0, -1.0).reshape(conv.weight.shape)
        conv.weight.data[...] = signs * (10 * (t + 1) + np.array(sources, dtype=np.float32)).reshape(1, -1, 1, 1)
    return block


def test_matrix_of_a_hand_built_block():
    block = _block()
    reuse = feature_reuse(block)
    expected = np.full((4, 4), np.nan)
    for t in range(4):
        for s in range(t + 1):
            expected[t, s] = 10 * (t + 1) + s
    np.testing.assert_allclose(reuse.matrix, expected, rtol=1e-6)
    assert reuse.sources == ["input", "0", "1", "2"] and reuse.targets == ["0", "1", "2", "3"]
    normalized = reuse.row_normalized()
    np.testing.assert_allclose(np.nanmax(normalized, axis=1), 1.0)
    assert np.isnan(normalized[0, 1])
    with minidl.no_grad():  # the block is a real dense block: it runs
        assert block(minidl.Tensor(np.ones((1, 3, 4, 4), np.float32))).shape == (1, 4, 4, 4)


def test_list_of_layers_and_explicit_sizes():
    block = _block(k0=4, k=1, layers=2)
    reuse = feature_reuse(list(block)[:2], in_channels=4, growth_rate=1)
    assert reuse.matrix.shape == (2, 2) and reuse.targets == ["layer 1", "layer 2"]
    np.testing.assert_allclose(reuse.matrix[1], [20, 21], rtol=1e-6)


def test_widths_that_are_not_a_dense_block_are_rejected():
    block = _block()
    with pytest.raises(ValueError, match="layer 2 .* reads 5 channels.*gives layer 2 6"):
        feature_reuse(block, growth_rate=3)
    with pytest.raises(ValueError, match="no Conv2d"):
        feature_reuse([nn.ReLU()])
