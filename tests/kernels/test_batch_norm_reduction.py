"""Batch-norm statistics as a two-pass 2-D reduction: equal to NumPy to 1e-12 in float64 whatever the chunking
(one or many chunks, one or more channel groups, lane counts that are not powers of two), deterministic, and
launched with enough blocks to fill a large GPU."""
import numpy as np
import pytest

from minidl.functional._channels import ChannelView
from minidl.functional._norm_fast import batch_norm_backward, batch_statistics
import cuda_emulation as emulation
from minidl.kernels import batch_norm

needs_gxx = pytest.mark.skipif(emulation.compiler() is None,
                               reason="g++ is not on PATH, so the batch-norm kernels cannot be emulated on the CPU")
H100_SMS = 132


def _channels_last(rng, n, c, h, w):
    return rng.standard_normal((n, h, w, c)).transpose(0, 3, 1, 2)


# name -> x (N, C, ...) and the pass-1 chunking the shape is there to exercise
SHAPES = {
    "nchw, 5 channels x 2 chunks": lambda rng: rng.standard_normal((8, 5, 16, 16)),
    "channels-last, 2 groups of 32 lanes": lambda rng: _channels_last(rng, 16, 40, 8, 8),
    "channels-last, 24 lanes (rows of 10)": lambda rng: _channels_last(rng, 32, 24, 8, 8),
    "matrix, 7 lanes x 3 chunks": lambda rng: rng.standard_normal((300, 7)),
}


@needs_gxx
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_statistics_and_gradient_sums_equal_numpy_to_1e_12(rng, name):
    x = 3 + 2 * SHAPES[name](rng)
    view = ChannelView(x)
    plan = batch_norm.Chunks(x.size // x.shape[1], x.shape[1], view.rows_are_samples)
    assert plan.chunks > 1 or plan.groups > 1  # the case takes more than one block per channel group
    weight = rng.standard_normal(x.shape[1])
    mean, var, inv_std, scale, centred, _ = batch_statistics(view, view.matrix(x), weight, 1e-5)
    grad = rng.standard_normal(x.shape)
    _, g_weight, g_bias = batch_norm_backward(view, view.matrix(grad), centred, inv_std, scale, False)

    _, got_mean, got_var, got_inv_std, got_scale = batch_norm.forward(view, x, weight, None, 1e-5)
    _, got_g_weight, got_g_bias = batch_norm.backward(view, grad, x, got_mean, got_inv_std, got_scale, False)
    for got, expected in [(got_mean, mean), (got_var, var), (got_inv_std, inv_std), (got_scale, scale),
                          (got_g_weight, g_weight), (got_g_bias, g_bias)]:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@needs_gxx
def test_statistics_are_deterministic(rng):
    x = _channels_last(rng, 32, 24, 8, 8).astype(np.float32)
    first, second = (batch_norm.forward(ChannelView(x), x, None, None, 1e-5) for _ in range(2))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # bit for bit: a fixed summation order, no atomics


class _Recorded:
    """Stands in for a compiled kernel: records its launch configuration, runs nothing."""

    def __init__(self, launches, name):
        self.launches, self.name = launches, name

    def __call__(self, grid, block, args):
        self.launches.append((self.name, tuple(grid), tuple(block)))


@pytest.mark.parametrize("channels_last", [True, False], ids=["channels-last", "nchw"])
@pytest.mark.parametrize("shape", [(128, 16, 32, 32), (128, 32, 16, 16), (128, 64, 8, 8)],
                         ids=["resnet stage 1", "stage 2", "stage 3"])
def test_every_pass_one_launch_fills_a_large_gpu(monkeypatch, shape, channels_last):
    """A CIFAR ResNet's batch norms at batch 128: each pass-1 launch gives every one of an H100's 132 SMs at
    least two blocks (one block per channel gave 16 to 64 blocks in all)."""
    launches = []
    monkeypatch.setattr(batch_norm, "function", lambda family, name, like: _Recorded(launches, name))
    n, c, h, w = shape
    x = np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2) if channels_last else np.empty(shape, np.float32)
    view = ChannelView(x)
    _, mean, _, inv_std, scale = batch_norm.forward(view, x, None, None, 1e-5)
    batch_norm.backward(view, x, x, mean, inv_std, scale, need_x=True)
    pass_one = [(name, grid) for name, grid, _ in launches if name.endswith("_chunks")]
    assert [name for name, _ in pass_one] == ["sum_chunks", "squared_deviation_chunks", "gradient_chunks"]
    for name, grid in pass_one:
        assert np.prod(grid) >= 2 * H100_SMS, (name, grid)
    assert len(launches) == 8  # forward: 2 passes x 2 for mean and variance, then normalise; backward: 2 + 1
