"""normalize: (x / 255 - mean) / std per channel, float32 out, clear errors."""
import numpy as np
import pytest

from minidl.data import MEAN, STD, normalize


def test_matches_the_formula():
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 4, 4), dtype=np.uint8)
    out = normalize(images)
    expected = (images / 255.0 - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    assert out.dtype == np.float32 and out.shape == images.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(normalize(images[0]), expected[0], rtol=1e-5, atol=1e-5)


def test_float_input_is_on_the_unit_scale():
    images = np.random.default_rng(1).random((2, 3, 4, 4))
    out = normalize(images)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, (images - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None])
    assert normalize(images.astype(np.float32)).dtype == np.float32
    before = images.copy()
    normalize(images)
    assert np.array_equal(images, before)


def test_bad_input():
    with pytest.raises(ValueError, match=r"normalize: expected images \(N, 3, H, W\).*\(2, 4, 4, 4\)"):
        normalize(np.zeros((2, 4, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="got dtype int32"):
        normalize(np.zeros((2, 3, 4, 4), np.int32))
