"""Shared by the training tests: a small CNN factory and a tiny slice of the real CIFAR-10 subset."""
import numpy as np
import pytest

import minidl
from minidl import nn


def make_small_cnn(seed=0):
    minidl.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


@pytest.fixture
def small_cnn():
    """small_cnn(seed=0): a two-conv network with batch norm, seeded."""
    return make_small_cnn


@pytest.fixture(scope="session")
def tiny_data():
    """600 training and 200 test images of the real CIFAR-10 subset, cropped to 16x16 to keep tests fast."""
    x_train, y_train, x_test, y_test = minidl.data.cifar10(subset=600, seed=0, verbose=False)
    return (np.ascontiguousarray(x_train[:, :, 8:24, 8:24]), y_train,
            np.ascontiguousarray(x_test[:200, :, 8:24, 8:24]), y_test[:200])
