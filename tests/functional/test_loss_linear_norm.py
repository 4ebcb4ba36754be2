"""linear, losses, batch norm and dropout: values against formulas, float64 gradient checks, errors."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_gradcheck(shape, with_bias, t64):
    x, w = t64(*shape), t64(4, 3)
    args = [x, w, t64(4)] if with_bias else [x, w]
    assert gradcheck(lambda *a: F.linear(*a), args)
    expected = x.data @ w.data.T + (args[2].data if with_bias else 0)
    assert np.allclose(F.linear(*args).data, expected)


def test_linear_errors():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) needs weight of shape \(out_features, 3\)"):
        F.linear(minidl.tensor(np.ones((2, 3))), minidl.tensor(np.ones((4, 5))))
    with pytest.raises(ValueError, match="bias"):
        F.linear(minidl.tensor(np.ones((2, 3))), minidl.tensor(np.ones((4, 3))), minidl.tensor(np.ones(3)))
    with pytest.raises(TypeError, match="dtype"):
        F.linear(minidl.tensor(np.ones((2, 3))), minidl.tensor(np.ones((4, 3), np.float32)))


def _reference_cross_entropy(x, t, smoothing):
    log_p = x - x.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    q = np.full_like(x, smoothing / x.shape[1])
    q[np.arange(len(t)), t] += 1 - smoothing
    return -(q * log_p).sum(1)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_values_and_gradcheck(smoothing, reduction, t64):
    x, t = t64(6, 5), np.array([0, 4, 2, 2, 1, 3])
    expected = _reference_cross_entropy(x.data, t, smoothing)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    assert np.allclose(F.cross_entropy(x, t, label_smoothing=smoothing, reduction=reduction).data, expected)
    assert gradcheck(lambda x: F.cross_entropy(x, minidl.tensor(t), smoothing, reduction), [x])


def test_cross_entropy_on_spatial_scores(t64, rng):
    x, t = t64(2, 4, 3, 2), rng.integers(0, 4, (2, 3, 2))
    flat = x.data.transpose(0, 2, 3, 1).reshape(-1, 4)
    assert np.isclose(F.cross_entropy(x, t).item(), _reference_cross_entropy(flat, t.reshape(-1), 0).mean())
    assert gradcheck(lambda x: F.cross_entropy(x, t, label_smoothing=0.2), [x])


def test_cross_entropy_equals_nll_of_log_softmax(t64):
    x, t = t64(4, 3), np.array([2, 0, 1, 1])
    assert np.isclose(F.cross_entropy(x, t).item(), F.nll_loss(F.log_softmax(x, 1), t).item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_mse_gradcheck(reduction, t64):
    t = np.array([2, 0, 1, 1])
    assert gradcheck(lambda x: F.nll_loss(x, t, reduction), [t64(4, 3)])
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [t64(3, 2), t64(3, 2)])
    a, b = t64(3, 2), t64(3, 2)
    assert np.isclose(F.mse_loss(a, b).item(), ((a.data - b.data) ** 2).mean())


def test_loss_errors_name_the_problem():
    x = minidl.tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(IndexError, match=r"cross_entropy: target values must lie in \[0, 4\)"):
        F.cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match=r"target has shape \(2,\), expected \(3,\)"):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class-index"):
        F.cross_entropy(x, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.nll_loss(x, np.array([0, 1, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3, 4\) and target shape \(4,\)"):
        F.mse_loss(x, np.zeros(4, np.float32))


def test_float32_cross_entropy_stays_float32():
    x = minidl.tensor(np.random.randn(4, 3).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([0, 1, 2, 0]), label_smoothing=0.1)
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 2), (3, 2, 4)])
def test_batch_norm_training_gradcheck(shape, t64):
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])


def test_batch_norm_eval_gradcheck(t64, rng):
    x, w, b = t64(4, 3, 2, 2), t64(3), t64(3)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False), [x, w, b])
    expected = (x.data - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    expected = expected * w.data.reshape(1, 3, 1, 1) + b.data.reshape(1, 3, 1, 1)
    assert np.allclose(F.batch_norm(x, mean, var, w, b).data, expected)


def test_batch_norm_statistics_and_running_updates_as_pytorch(rng):
    x = rng.standard_normal((8, 3, 4, 4)) * 2 + 1
    running_mean, running_var = np.zeros(3), np.ones(3)
    out = F.batch_norm(minidl.tensor(x), running_mean, running_var, training=True, momentum=0.1, eps=1e-5)
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    expected = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    assert np.allclose(out.data, expected)
    n = 8 * 4 * 4
    assert np.allclose(running_mean, 0.1 * mean)
    assert np.allclose(running_var, 0.9 + 0.1 * var * n / (n - 1))  # unbiased variance into the buffer


def test_batch_norm_updates_tensor_buffers_in_place(rng):
    mean_buffer = minidl.tensor(np.zeros(2, np.float32))
    var_buffer = minidl.tensor(np.ones(2, np.float32))
    x = minidl.tensor(rng.standard_normal((5, 2)).astype(np.float32) + 3)
    F.batch_norm(x, mean_buffer, var_buffer, training=True)
    assert np.allclose(mean_buffer.data, 0.1 * x.data.mean(0), atol=1e-6)
    assert mean_buffer.dtype == np.float32


def test_batch_norm_errors():
    x = minidl.tensor(np.ones((4, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        F.batch_norm(x, np.zeros(4, np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="more than one value per channel"):
        F.batch_norm(minidl.tensor(np.ones((1, 3), np.float32)), None, None, training=True)
    with pytest.raises(ValueError, match="expected input of shape"):
        F.batch_norm(minidl.tensor(np.ones(3, np.float32)), None, None, training=True)


def test_dropout_scales_kept_units_and_is_seeded():
    x = minidl.tensor(np.ones((200, 50), np.float32), requires_grad=True)
    minidl.manual_seed(0)
    y = F.dropout(x, 0.25)
    kept = y.data != 0
    assert np.allclose(y.data[kept], 1 / 0.75) and abs(kept.mean() - 0.75) < 0.02
    y.sum().backward()
    assert np.array_equal(x.grad != 0, kept) and y.dtype == np.float32
    minidl.manual_seed(0)
    assert np.array_equal(F.dropout(x, 0.25).data, y.data)
    assert F.dropout(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)


def test_dropout_gradcheck_with_fixed_mask(t64):
    x = t64(5, 4)
    def fn(x):
        minidl.manual_seed(1)
        return F.dropout(x, 0.3)
    assert gradcheck(fn, [x])


def test_batch_norm_on_channels_last_memory(rng):
    """conv2d returns NCHW views of NHWC memory; batch_norm must give the same values and gradients on them."""
    data = rng.standard_normal((4, 3, 5, 2))
    channels_last = np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    x_last = minidl.tensor(channels_last, requires_grad=True)
    x = minidl.tensor(data, requires_grad=True)
    w = minidl.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), [x_last, w])
    g = rng.standard_normal(data.shape)
    x_last.grad = None
    F.batch_norm(x_last, None, None, w, None, training=True).backward(g)
    F.batch_norm(x, None, None, w, None, training=True).backward(g)
    assert np.allclose(x_last.grad, x.grad)
