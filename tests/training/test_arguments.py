"""train()'s arguments and data are checked before anything runs: wrong types, non-finite numbers, empty data, and
`subset` on arrays, each with an error naming the argument and its value."""
import numpy as np
import pytest

import minidl
from minidl.data import balanced_subset


@pytest.mark.parametrize("argument,error,message", [
    (dict(epochs=1.5), TypeError, "train: epochs must be an int >= 0, got 1.5 (float)"),
    (dict(epochs=True), TypeError, "train: epochs must be an int >= 0, got True (bool)"),
    (dict(epochs=-1), ValueError, "train: epochs must be >= 0, got -1"),
    (dict(batch_size=0), ValueError, "train: batch_size must be >= 1, got 0"),
    (dict(lr="0.1"), TypeError, "train: lr must be a number, got '0.1' (str)"),
    (dict(lr=float("nan")), ValueError, "train: lr must be a finite number >= 0, got nan"),
    (dict(momentum=-0.9), ValueError, "train: momentum must be a finite number >= 0, got -0.9"),
    (dict(warmup_epochs=float("inf")), ValueError, "train: warmup_epochs must be a finite number >= 0, got inf"),
    (dict(label_smoothing=1.0), ValueError, "train: label_smoothing must be a finite number >= 0 and < 1, got 1.0"),
    (dict(seed=-1), ValueError, "train: seed must be >= 0, got -1"),
    (dict(subset=0), ValueError, "train: subset must be >= 1, got 0"),
])
def test_bad_arguments_are_named_before_anything_runs(small_cnn, argument, error, message):
    with pytest.raises(error) as caught:
        minidl.train(small_cnn(), data="no data is read", **argument)
    assert str(caught.value) == message


def test_numpy_numbers_are_accepted(tiny_data, small_cnn):
    history = minidl.train(small_cnn(), data=tiny_data, epochs=np.int64(1), batch_size=np.int32(300),
                           lr=np.float32(0.05), progress=False)
    assert len(history) == 1


def test_empty_training_or_test_data_is_refused(tiny_data, small_cnn):
    x_train, y_train, x_test, y_test = tiny_data
    with pytest.raises(ValueError, match="train: the training data holds no images"):
        minidl.train(small_cnn(), data=(x_train[:0], y_train[:0], x_test, y_test), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"train: the test data holds no images \(the accuracy of none is undefined\)"):
        minidl.train(small_cnn(), data=(x_train, y_train, x_test[:0], y_test[:0]), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"evaluate: the test data holds no images"):
        minidl.evaluate(small_cnn(), (x_test[:0], y_test[:0]))
    with pytest.raises(ValueError, match=r"evaluate: the test data has 200 images but 199 labels"):
        minidl.evaluate(small_cnn(), (x_test, y_test[:-1]))


def test_subset_applies_to_arrays_too(tiny_data, small_cnn):
    x_train, y_train = tiny_data[:2]
    history = minidl.train(small_cnn(), data=tiny_data, subset=64, epochs=1, batch_size=32, progress=False)
    assert len(history) == 1
    from minidl.training.loop import _resolve_data
    train_set, _, _ = _resolve_data(tiny_data, 64, 0)
    keep = balanced_subset(y_train, 64, 0)
    assert len(train_set) == 64 and np.array_equal(train_set.x, x_train[keep])
    assert np.bincount(train_set.y, minlength=10).min() >= 6  # class-balanced
    with pytest.raises(ValueError, match="subset: expected an int between 1 and 600"):
        minidl.train(small_cnn(), data=tiny_data, subset=601, epochs=1, progress=False)


def test_balanced_subset_keeps_every_class_beyond_ten():
    labels = np.arange(120) % 12  # twelve classes, ten each
    keep = balanced_subset(labels, 24, seed=0)
    assert len(keep) == 24 and np.array_equal(np.bincount(labels[keep]), [2] * 12)
