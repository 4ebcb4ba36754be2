"""Shared fixtures: a seeded generator and float64 tensor factories for gradient checks."""
import numpy as np
import pytest

import minidl


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def t64(rng):
    """Make a float64 leaf tensor that requires grad: t64(2, 3) or t64(2, 3, low=0.5) for positive data."""
    def make(*shape, low=None, requires_grad=True):
        data = rng.standard_normal(shape)
        if low is not None:
            data = low + np.abs(data)
        return minidl.Tensor(data, requires_grad=requires_grad)
    return make


def pytest_collection_modifyitems(config, items):
    """GPU tests skip, with the reason, where CuPy or a CUDA device is missing."""
    if minidl.cuda.is_available():
        return
    reason = "needs CuPy and a CUDA GPU (minidl.cuda.is_available() is False on this machine)"
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
