"""random_crop_flip: every output is a crop of the zero-padded input or its mirror, checked image by image."""
import numpy as np
import pytest

from minidl.data import random_crop_flip


def test_each_image_is_a_shifted_crop_or_its_mirror(helpers):
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (400, 3, 8, 8), dtype=np.uint8)  # no zeros: a shift is unambiguous
    out = random_crop_flip(images, np.random.default_rng(1))
    assert out.shape == images.shape and out.dtype == np.uint8
    shifts = [helpers.find_shift(o, i) for o, i in zip(out, images)]
    assert all(len(s) == 1 for s in shifts)
    tops, lefts, flips = np.array([s[0] for s in shifts]).T
    assert set(tops) == set(lefts) == set(range(9))  # every offset in [-4, 4] occurs
    assert 0.35 < flips.mean() < 0.65


def test_deterministic_given_the_generator_and_float_kept():
    images = np.random.default_rng(2).standard_normal((16, 3, 32, 32)).astype(np.float32)
    a = random_crop_flip(images, np.random.default_rng(5))
    b = random_crop_flip(images, np.random.default_rng(5))
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, random_crop_flip(images, np.random.default_rng(6)))


def test_no_padding_only_flips():
    images = np.random.default_rng(3).integers(0, 256, (50, 3, 6, 6), dtype=np.uint8)
    out = random_crop_flip(images, np.random.default_rng(0), padding=0)
    same = [np.array_equal(o, i) or np.array_equal(o, i[:, :, ::-1]) for o, i in zip(out, images)]
    assert all(same)


def test_bad_input():
    with pytest.raises(ValueError, match=r"random_crop_flip: expected images \(N, C, H, W\)"):
        random_crop_flip(np.zeros((3, 32, 32)), np.random.default_rng(0))
