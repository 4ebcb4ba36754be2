"""subset=N: class-balanced, seeded, and sensible when a class runs short or N is not a multiple of 10."""
import numpy as np
import pytest

from minidl.data import CIFAR10, balanced_subset, cifar10


def test_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 50)
    np.random.default_rng(0).shuffle(labels)
    idx = balanced_subset(labels, 200, seed=3)
    assert len(idx) == 200 and len(set(idx.tolist())) == 200 and np.all(np.diff(idx) > 0)
    assert np.bincount(labels[idx], minlength=10).tolist() == [20] * 10
    assert np.array_equal(idx, balanced_subset(labels, 200, seed=3))
    assert not np.array_equal(idx, balanced_subset(labels, 200, seed=4))


def test_remainder_goes_to_distinct_classes():
    labels = np.repeat(np.arange(10), 30)
    counts = np.bincount(labels[balanced_subset(labels, 105, seed=0)], minlength=10)
    assert sorted(counts.tolist()) == [10] * 5 + [11] * 5


def test_short_class_passes_its_share_on():
    labels = np.concatenate([np.zeros(3, int), np.repeat(np.arange(1, 10), 100)])
    counts = np.bincount(labels[balanced_subset(labels, 100, seed=0)], minlength=10)
    assert counts[0] == 3 and counts.sum() == 100 and counts[1:].max() - counts[1:].min() <= 1


def test_whole_set_and_bad_sizes():
    labels = np.arange(20) % 10
    assert np.array_equal(balanced_subset(labels, 20), np.arange(20))
    for bad in (0, 21, -5, 2.5, True, "10"):
        with pytest.raises(ValueError, match="subset: expected an int between 1 and 20"):
            balanced_subset(labels, bad)


def test_cifar10_subset_is_training_only():
    x_train, y_train, x_test, y_test = cifar10(subset=500, seed=1, verbose=False)
    assert x_train.shape == (500, 3, 32, 32) and np.bincount(y_train).tolist() == [50] * 10
    assert len(x_test) == 1017
    again = CIFAR10(subset=500, seed=1, verbose=False)
    assert np.array_equal(again.targets, y_train)
