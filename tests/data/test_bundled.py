"""The subset shipped inside the package: right shapes, exactly the shared data, provenance recorded."""
import numpy as np

from minidl.data import bundled
from minidl.data.cifar10 import read_split


def test_bundled_shapes_and_types():
    x_train, y_train = bundled.load(train=True)
    x_test, y_test = bundled.load(train=False)
    assert x_train.shape == (5085, 3, 32, 32) and x_test.shape == (1017, 3, 32, 32)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # data_batch_1 comes first
    assert np.bincount(y_train, minlength=10).min() >= 475


def test_bundled_equals_the_shared_data(shared):
    for train in (True, False):
        x_b, y_b = bundled.load(train)
        x_s, y_s = read_split(shared, train)
        assert np.array_equal(x_b, x_s) and np.array_equal(y_b, y_s)


def test_bundled_records_its_source():
    note = bundled.source()
    assert "first 1,017 images of each official batch" in note and "data_batch_1" in note and "md5" in note
    assert bundled.PATH.stat().st_size < 20e6


def test_encoding_round_trip():
    images = np.random.default_rng(0).integers(0, 256, (7, 3, 5, 6), dtype=np.uint8)
    encoded = bundled.encode(images)
    assert encoded.dtype == np.uint8 and not np.array_equal(encoded, images)
    assert np.array_equal(bundled.decode(encoded), images)


def test_save_is_atomic_and_readable(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    y = np.array([0, 9, 3, 3])
    path = tmp_path / "sub.npz"
    bundled.save(path, x, y, x[:2], y[:2], "test note")
    assert [p.name for p in tmp_path.iterdir()] == ["sub.npz"]
    got_x, got_y = bundled.load(True, path)
    assert np.array_equal(got_x, x) and got_y.tolist() == [0, 9, 3, 3] and bundled.source(path) == "test note"
