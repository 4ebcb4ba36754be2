"""Reading the official python layout: the real shared files, and clear errors for every kind of bad file."""
import pickle
import struct

import numpy as np
import pytest

from minidl.data import DataError
from minidl.data.cifar10 import read_batch, read_split
from minidl.data.safe_pickle import load as safe_load


def test_real_data_batch_1(shared):
    images, labels = read_batch(shared / "data_batch_1")
    assert images.shape == (1017, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # data_batch_1's first ten labels


def test_real_splits(shared):
    x_train, y_train = read_split(shared, train=True)
    x_test, y_test = read_split(shared, train=False)
    assert x_train.shape == (5085, 3, 32, 32) and x_test.shape == (1017, 3, 32, 32)
    assert len(y_train) == 5085 and len(y_test) == 1017
    assert set(np.unique(y_train)) == set(range(10))
    # each row is 1024 red, then green, then blue values: the first pixel's red is the row's first byte
    raw = pickle.loads((shared / "data_batch_1").read_bytes(), encoding="bytes")[b"data"]
    assert x_train[0, 1, 0, 0] == raw[0, 1024] and x_train[0, 2, 31, 31] == raw[0, 3071]


def good_batch(n=4):
    return {b"data": np.zeros((n, 3072), np.uint8), b"labels": list(range(n))}


@pytest.mark.parametrize("change, message", [
    (lambda b: b.pop(b"labels"), "lacks the key"),
    (lambda b: b.update({b"data": np.zeros((4, 3072), np.float32)}), "uint8 array of shape (N, 3072)"),
    (lambda b: b.update({b"data": np.zeros((4, 3, 32, 32), np.uint8)}), "uint8 array of shape (N, 3072)"),
    (lambda b: b.update({b"data": [1, 2, 3]}), "got list"),
    (lambda b: b.update({b"labels": [0, 1, 2, 10]}), "labels must be in 0..9, found [10]"),
    (lambda b: b.update({b"labels": [0, -1, 2, 3]}), "labels must be in 0..9, found [-1]"),
    (lambda b: b.update({b"labels": [0, 1, 2]}), "3 labels for 4 images"),
    (lambda b: b.update({b"labels": ["a", "b", "c", "d"]}), "must be a list of ints"),
])
def test_malformed_batch_is_named(tmp_path, helpers, change, message):
    batch = good_batch()
    change(batch)
    helpers.write_batch(tmp_path / "data_batch_1", batch)
    with pytest.raises(DataError) as err:
        read_batch(tmp_path / "data_batch_1")
    assert str(tmp_path / "data_batch_1") in str(err.value) and message in str(err.value)


def test_not_a_dict(tmp_path, helpers):
    helpers.write_batch(tmp_path / "test_batch", [1, 2, 3])
    with pytest.raises(DataError, match="holds a list"):
        read_batch(tmp_path / "test_batch")


@pytest.mark.parametrize("keep", [0.5, 0.98, 0.0])
def test_truncated_file(tmp_path, keep):
    blob = pickle.dumps(good_batch(50), protocol=2)
    path = tmp_path / "data_batch_3"
    path.write_bytes(blob[:int(len(blob) * keep)])
    with pytest.raises(DataError) as err:
        read_batch(path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


def test_garbage_file(tmp_path):
    path = tmp_path / "data_batch_2"
    path.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(DataError, match="data_batch_2 cannot be read"):
        read_batch(path)


class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned",))


def test_pickle_cannot_run_code(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _RunsCode(), b"labels": [0]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        safe_load(path)
    with pytest.raises(DataError, match="system"):
        read_batch(path)


def test_object_arrays_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.array([None, 1], dtype=object), b"labels": [0]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="object dtype"):
        safe_load(path)


def test_numpy_arrays_and_bytes_allowed(tmp_path):
    path = tmp_path / "x"
    value = {b"a": np.arange(6, dtype=np.int32).reshape(2, 3), b"b": [b"xy", "z", 3, 1.5]}
    path.write_bytes(pickle.dumps(value, protocol=2))
    loaded = safe_load(path)
    assert np.array_equal(loaded[b"a"], value[b"a"]) and loaded[b"b"] == value[b"b"]


def python2_batch(data, labels):
    """A batch pickled as Python 2's cPickle writes the official files: str values as SHORT_BINSTRING and
    BINSTRING (bytes once read with encoding='bytes'), numpy.core names, numpy.dtype('u1', 0, 1)."""
    def short(b):
        return b"U" + bytes([len(b)]) + b
    blob = b"\x80\x02}(" + short(b"data")
    blob += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + short(b"b") + b"\x87R"
    blob += b"(K\x01K" + bytes([len(data)]) + b"M" + struct.pack("<H", 3072) + b"\x86"
    blob += b"cnumpy\ndtype\n" + short(b"u1") + b"K\x00K\x01\x87R"
    blob += b"(K\x03" + short(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    blob += b"\x89T" + struct.pack("<I", data.nbytes) + data.tobytes() + b"tb"
    blob += short(b"labels") + b"](" + b"".join(b"K" + bytes([label]) for label in labels) + b"e"
    return blob + b"u."


def test_python2_official_format(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    (tmp_path / "data_batch_1").write_bytes(python2_batch(data, [6, 9, 9]))
    images, labels = read_batch(tmp_path / "data_batch_1")
    assert np.array_equal(images.reshape(3, 3072), data) and labels.tolist() == [6, 9, 9]


def test_missing_file_in_folder(tmp_path, helpers):
    for i in range(1, 5):
        helpers.write_batch(tmp_path / f"data_batch_{i}", good_batch())
    with pytest.raises(FileNotFoundError, match="lacks data_batch_5"):
        read_split(tmp_path, train=True)
