"""Shared by the command-line tests: a tiny CIFAR-10 folder, so that a real training run takes a second."""
import pickle

import numpy as np
import pytest


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
