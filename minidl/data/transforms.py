"""Per-channel normalisation of CIFAR-10 images, shared by the dataset, the array helper and the loader.

Mean and std are those of the 50,000 official training images on the 0-1 scale, std taken over all
pixels (docs/references.md [krizhevsky2009]); not the (0.2023, 0.1994, 0.2010) often seen, which
averages per-image stds.
"""
import numpy as np

from .. import backend

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def normalize(images, mean=MEAN, std=STD):
    """(images / 255 - mean) / std per channel, for uint8 images (N, C, H, W) or (C, H, W).

    Float images are taken as already on the 0-1 scale. The result is float32 (float64 input stays
    float64), computed as one multiply and one add per element.
    """
    xp = backend.get_array_module(images)
    if images.ndim not in (3, 4) or images.shape[-3] != len(mean):
        raise ValueError(f"normalize: expected images (N, {len(mean)}, H, W) or ({len(mean)}, H, W), "
                         f"got shape {tuple(images.shape)}")
    if images.dtype == np.uint8:
        out, scale = images.astype(np.float32), 255.0
    elif images.dtype.kind == "f":
        out, scale = images.astype(np.float64 if images.dtype == np.float64 else np.float32), 1.0
    else:
        raise TypeError(f"normalize: expected uint8 (0-255) or float (0-1) images, got dtype {images.dtype}")
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    gain = xp.asarray(1.0 / (scale * std), out.dtype).reshape(-1, 1, 1)
    shift = xp.asarray(-mean / std, out.dtype).reshape(-1, 1, 1)
    out *= gain
    out += shift
    return out
