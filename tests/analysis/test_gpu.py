"""The analysis tools on a GPU model give what they give on the CPU (inputs are NumPy arrays either way)."""
import numpy as np
import pytest

import minidl
from minidl import models
from minidl.analysis import (effective_path_gradients, feature_reuse, gate_statistics, gradient_flow,
                             jacobian, lesion_study, loss_slice_1d)


def _both(build, measure):
    minidl.manual_seed(0)
    model = build()
    on_cpu = measure(model)
    return on_cpu, measure(model.to("cuda"))


@pytest.mark.gpu
def test_tools_agree_between_cpu_and_gpu():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3, 8, 8)).astype(np.float32), np.arange(4)
    resnet = lambda: models.create("resnet20", depth=8)  # noqa: E731
    cpu, gpu = _both(resnet, lambda m: gradient_flow(m, x, y).weight_grad_norm)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)
    cpu, gpu = _both(lambda: models.BasicBlock(4, 4).eval(), lambda m: jacobian(m, x[:1, :1].repeat(4, 1)[:, :, :3, :3]))
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-5)
    cpu, gpu = _both(resnet, lambda m: [l.accuracy is None for l in lesion_study(m, (x, y)).lesions])
    assert cpu == gpu == [False, False, False]
    cpu, gpu = _both(resnet, lambda m: effective_path_gradients(m, x, y, trials=1).grad_mean)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)
    cpu, gpu = _both(lambda: resnet().eval(), lambda m: loss_slice_1d(m, (x, y), alphas=[0.0, 0.3]).losses)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3)
    cpu, gpu = _both(lambda: models.create("highway20", depth=8), lambda m: gate_statistics(m, x).mean)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4)
    cpu, gpu = _both(lambda: models.densenet.densenet(10, growth_rate=4), lambda m: feature_reuse(m.stages[0]).matrix)
    np.testing.assert_allclose(gpu, cpu, equal_nan=True)
