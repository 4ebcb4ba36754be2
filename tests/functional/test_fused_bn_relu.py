"""batch_norm_relu: exactly relu(batch_norm(...)) in values, gradients and running buffers, in both layouts."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck
from minidl.functional.norm import batch_norm_relu


def _channels_last(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1, *range(1, a.ndim - 1))


SHAPES = [(6, 3), (4, 3, 5, 2), (3, 2, 4)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(shape, training, t64, rng):
    x, w, b = t64(*shape), t64(shape[1]), t64(shape[1])
    mean, var = rng.standard_normal(shape[1]), rng.uniform(0.5, 2, shape[1])
    assert gradcheck(lambda x, w, b: batch_norm_relu(x, mean, var, w, b, training=training, momentum=0.0),
                     [x, w, b])
    assert gradcheck(lambda x: batch_norm_relu(x, mean, var, training=training, momentum=0.0), [x])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_same_as_relu_of_batch_norm(shape, training, layout, rng):
    data = rng.standard_normal(shape).astype(np.float32) * 3 + 1
    if layout == "channels_last":
        data = _channels_last(data)
    g = rng.standard_normal(shape).astype(np.float32)
    weight = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
    results = []
    for fused in (False, True):
        x = minidl.tensor(data, requires_grad=True)
        w = minidl.tensor(weight.copy(), requires_grad=True)
        b = minidl.tensor(np.linspace(-1, 1, shape[1]).astype(np.float32), requires_grad=True)
        rm, rv = np.full(shape[1], 0.5, np.float32), np.full(shape[1], 2.0, np.float32)
        args = (x, rm, rv, w, b, training, 0.1, 1e-5)
        y = batch_norm_relu(*args) if fused else F.relu(F.batch_norm(*args))
        y.backward(g)
        results.append((y.data, x.grad, w.grad, b.grad, rm, rv))
    for unfused, fused in zip(*results):
        assert fused.dtype == np.float32
        np.testing.assert_allclose(fused, unfused, rtol=1e-5, atol=1e-6)
    assert (results[1][0] >= 0).all() and (results[1][0] == 0).any()


def test_output_keeps_the_input_memory_layout(rng):
    data = _channels_last(rng.standard_normal((2, 3, 4, 5)).astype(np.float32))
    for training in (True, False):
        y = batch_norm_relu(minidl.tensor(data), np.zeros(3, np.float32), np.ones(3, np.float32), training=training)
        assert y.shape == (2, 3, 4, 5) and np.moveaxis(y.data, 1, -1).flags.c_contiguous


def test_errors_name_the_fused_op():
    x = minidl.tensor(np.ones((4, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"batch_norm_relu: running_mean must have shape \(3,\)"):
        batch_norm_relu(x, np.zeros(4, np.float32), np.ones(3, np.float32))
    with pytest.raises(TypeError, match="batch_norm_relu"):
        batch_norm_relu(minidl.tensor(np.ones((4, 3), np.int64)), None, None, training=True)


def test_no_graph_saves_nothing(rng):
    x = minidl.tensor(rng.standard_normal((4, 3, 2, 2)).astype(np.float32))
    with minidl.no_grad():
        y = batch_norm_relu(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=False)
    assert y._ctx is None and not y.requires_grad
