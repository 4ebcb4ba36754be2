"""Channels-last memory (conv2d's output layout) is kept through batch norm, ReLU and + - *, with the same
values and gradients as NCHW memory; ChannelView's matrices, expanded vectors and sums."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.functional._channels import ChannelView, is_channels_last


def _last(a):
    """The same values in channels-last memory."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1, *range(1, a.ndim - 1))


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_channel_view_matrix_expand_and_sums(shape, layout, rng):
    a = rng.standard_normal(shape)
    a = _last(a) if layout == "channels_last" else a
    view = ChannelView(a)
    m = view.matrix(a)
    assert m.ndim == 2 and np.shares_memory(m, a)  # a view, no copy
    back = view.array(m)
    assert back.shape == a.shape and np.array_equal(back, a) and np.shares_memory(back, a)
    vector = rng.standard_normal(shape[1])
    per_channel = vector.reshape((1, -1) + (1,) * (len(shape) - 2))
    assert np.allclose(view.array(m * view.expand(vector)), a * per_channel)
    axes = (0,) + tuple(range(2, len(shape)))
    assert np.allclose(view.sums(m), a.sum(axis=axes))
    b = rng.standard_normal(shape)
    assert np.allclose(view.sums(m, view.matrix(b)), (a * b).sum(axis=axes))  # b in the other layout: copied


def test_channels_last_detection():
    a = np.zeros((2, 3, 4, 5))
    assert not is_channels_last(a) and is_channels_last(_last(a))
    assert is_channels_last(_last(np.zeros((4, 3, 6))))  # (N, C, L) too
    assert not is_channels_last(np.zeros((5, 3)))  # (N, C) has no spatial axes to be last behind
    assert not is_channels_last(_last(np.zeros((2, 1, 4, 5))))  # contiguous either way: counts as NCHW
    assert not is_channels_last(_last(a)[:, :, ::2])  # neither layout is contiguous


def test_one_channels_last_test_serves_every_op():
    from minidl import seams
    from minidl.functional import _channels, _pool_fast
    assert _pool_fast.is_channels_last is _channels.is_channels_last
    assert seams.fast["elementwise"] is _channels.binary_in_layout  # + - * ask it through the seam


def test_batch_norm_gradient_in_another_layout_than_its_input(rng):
    data, g = rng.standard_normal((4, 3, 5, 2)), rng.standard_normal((4, 3, 5, 2))
    grads = []
    for grad in (g, _last(g)):
        x = minidl.tensor(_last(data), requires_grad=True)
        w = minidl.tensor(np.ones(3), requires_grad=True)
        y = F.batch_norm(x, None, None, w, None, training=True)
        assert is_channels_last(y.data)
        y.backward(grad)
        assert is_channels_last(x.grad)
        grads.append((x.grad, w.grad))
    assert np.allclose(grads[0][0], grads[1][0]) and np.allclose(grads[0][1], grads[1][1])


def test_relu_backward_takes_the_activation_layout(rng):
    data = _last(rng.standard_normal((2, 3, 4, 4)).astype(np.float32))
    x = minidl.tensor(data, requires_grad=True)
    g = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)  # NCHW memory
    F.relu(x).backward(g)
    assert is_channels_last(x.grad) and x.grad.dtype == np.float32
    assert np.array_equal(x.grad, g * (data > 0))


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_mixed_layout_arithmetic_keeps_channels_last(op, rng):
    a, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    g = rng.standard_normal((2, 3, 4, 5))
    fn = getattr(F, op)
    for first, second in ((_last(a), b), (a, _last(b))):
        ta, tb = minidl.tensor(first, requires_grad=True), minidl.tensor(second, requires_grad=True)
        out = fn(ta, tb)
        assert is_channels_last(out.data) and not out.data.flags.c_contiguous
        assert np.allclose(out.data, getattr(np, {"sub": "subtract", "mul": "multiply"}.get(op, op))(a, b))
        out.backward(g)
        expected_a = {"add": g, "sub": g, "mul": g * b}[op]
        expected_b = {"add": g, "sub": -g, "mul": g * a}[op]
        assert np.allclose(ta.grad, expected_a) and np.allclose(tb.grad, expected_b)


def test_broadcasting_and_float32_unchanged(rng):
    a = minidl.tensor(_last(rng.standard_normal((2, 3, 4, 5)).astype(np.float32)))
    bias = minidl.tensor(np.ones((1, 3, 1, 1), np.float32))
    assert (a + bias).dtype == np.float32 and np.allclose((a + bias).data, a.data + 1)
    assert (a * 2.0).dtype == np.float32
