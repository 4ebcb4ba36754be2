"""Shared fixtures: a seeded generator and float64 tensor factories for gradient checks, and a tiny CIFAR-10
folder so that a real training run (the CLI's, the reference suite's) takes a second.

`--fake-cupy` (or MINIDL_FAKE_CUPY=1) runs the suite with the NumPy-backed stand-in for CuPy in
tests/fake_cupy as `cupy`: device="cuda" then works without a GPU and GPU-marked tests run against it.
"""
import os
import pickle
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TESTS, "emulation"))  # cuda_emulation: minidl's CUDA kernels run on the CPU
FAKE_CUPY = "--fake-cupy" in sys.argv or os.environ.get("MINIDL_FAKE_CUPY") == "1"
if FAKE_CUPY:  # before minidl is imported, so that its `import cupy` finds the stand-in
    if "minidl" in sys.modules:
        raise RuntimeError("--fake-cupy: minidl was imported before the stand-in could be installed")
    sys.path.insert(0, os.path.join(TESTS, "fake_cupy"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import minidl  # noqa: E402
from cuda_emulation import EmulatedModule  # noqa: E402

minidl.kernels.emulator = EmulatedModule  # the kernels given NumPy arrays run on the CPU (tests/kernels)


def pytest_addoption(parser):
    parser.addoption("--fake-cupy", action="store_true",
                     help="run with the NumPy-backed stand-in for CuPy (tests/fake_cupy) as the GPU")


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


@pytest.fixture
def tiny_cifar_folder(tmp_path):
    """A folder holding cifar-10-batches-py/ in the official layout: 5 x 16 training and 16 test images of random
    pixels (a resnet20 epoch in batches of 40 is two steps)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": [i % 10 for i in range(16)],
                 b"data": rng.integers(0, 256, (16, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """GPU tests skip, with the reason, where CuPy or a CUDA device is missing."""
    if FAKE_CUPY and not getattr(minidl.backend.cp, "is_fake", False):
        raise RuntimeError("--fake-cupy: minidl did not pick up the stand-in CuPy")
    if minidl.cuda.is_available():
        return
    reason = "needs CuPy and a CUDA GPU (minidl.cuda.is_available() is False on this machine)"
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
