"""On a real GPU: the ops that dispatch to the kernels (conv2d, max_pool2d, batch_norm, add_relu,
highway_combine) against the CPU, forward and backward, and a resnet20 / highway20 training step."""
import numpy as np
import pytest

import minidl
from minidl import backend
from minidl import functional as F

pytestmark = pytest.mark.gpu  # tests/conftest.py skips them, saying why, where CuPy or a GPU is missing


def _both(rng, ops, *shapes):
    """[output, input grads...] of ops(*inputs) on the CPU and on the GPU, float64, same data and output grad."""
    arrays = [rng.standard_normal(s) for s in shapes]
    results = []
    for put in (np.asarray, backend.cp.asarray):
        inputs = [minidl.Tensor(put(a), requires_grad=True) for a in arrays]
        out = ops(*inputs)
        out.backward(put(np.random.default_rng(1).standard_normal(out.shape)))
        results.append([backend.to_device(out.data, "cpu")] + [backend.to_device(x.grad, "cpu") for x in inputs])
    return results


@pytest.mark.parametrize("stride, padding, groups", [(1, 1, 1), (2, 1, 1), (1, 0, 2)])
def test_conv2d(rng, stride, padding, groups):
    cpu, gpu = _both(rng, lambda x, w, b: F.conv2d(x, w, b, stride, padding, groups=groups),
                     (4, 4, 9, 9), (6, 4 // groups, 3, 3), (6,))
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-10)


def test_max_pool2d(rng):
    cpu, gpu = _both(rng, lambda x: F.max_pool2d(x, 3, 2, 1), (2, 3, 9, 8))
    for c, g in zip(cpu, gpu):
        np.testing.assert_array_equal(g, c)


def test_batch_norm_train(rng):
    def bn(x, w, b):
        return F.batch_norm(F.conv2d(x, w, padding=1), None, None, b, b, training=True)
    cpu, gpu = _both(rng, bn, (4, 3, 6, 6), (5, 3, 3, 3), (5,))
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-9)


def test_fused_chains(rng):
    for op, count in ((F.add_relu, 2), (F.highway_combine, 3)):
        cpu, gpu = _both(rng, op, *[(2, 3, 4, 4)] * count)
        for c, g in zip(cpu, gpu):
            np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["resnet20", "highway20"])
def test_training_step_matches_cpu(rng, name):
    """One float32 SGD step from the same weights: losses and updated weights agree to float32 rounding."""
    x, y = rng.standard_normal((8, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 8)
    results = []
    for device in ("cpu", "cuda"):
        minidl.manual_seed(0)
        model = minidl.models.create(name).to(device)
        opt = minidl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss = F.cross_entropy(model(minidl.Tensor(x).to(device)), minidl.Tensor(y).to(device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        results.append((loss.item(), [backend.to_device(p.data, "cpu") for p in model.parameters()]))
    assert abs(results[0][0] - results[1][0]) < 1e-3
    for c, g in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(g, c, rtol=1e-3, atol=1e-4)
