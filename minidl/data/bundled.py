"""The CIFAR-10 subset shipped inside the package (5,085 train + 1,017 test images), so a fresh install trains offline.

`bundled/cifar10_subset.npz` is built by tools/make_bundled_subset.py from ../shared/data (the first 1,017
images of each official batch) and records that origin in its `source` entry. It is read with
allow_pickle=False, so loading it never runs code.
"""
from pathlib import Path

import numpy as np

from .._atomic import atomic_open
from .errors import DataError

PATH = Path(__file__).resolve().parent / "bundled" / "cifar10_subset.npz"
FORMAT = "minidl-cifar10-subset-1"


# Images are stored as differences (mod 256) between neighbouring pixels of a row and then between the
# colour planes, the idea of PNG's "Sub" filter: neighbouring values are alike, so most differences are
# small numbers, which zlib packs into 12.5 MB instead of 17.2 MB for the raw pixels. uint8 arithmetic
# wraps around, so cumulative sums in the reverse order give the pixels back exactly.
def encode(images):
    """uint8 NCHW images -> uint8 differences along width, then along channels."""
    along_width = np.diff(images, axis=3, prepend=np.uint8(0))
    return np.diff(along_width, axis=1, prepend=np.uint8(0))


def decode(diffs):
    """Inverse of `encode`."""
    return np.cumsum(np.cumsum(diffs, axis=1, dtype=np.uint8), axis=3, dtype=np.uint8)


def save(path, x_train, y_train, x_test, y_test, source):
    """Write the subset as one compressed .npz (to a temporary name first, then renamed)."""
    with atomic_open(path, "wb") as f:
        np.savez_compressed(f, format=np.array(FORMAT), source=np.array(source),
                            x_train=encode(x_train), y_train=y_train.astype(np.uint8),
                            x_test=encode(x_test), y_test=y_test.astype(np.uint8))


def load(train=True, path=PATH):
    """One split of the bundled subset -> (uint8 NCHW images, int64 labels)."""
    split = "train" if train else "test"
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["format"]) != FORMAT:
                raise DataError(f"bundled CIFAR-10 file {path} has format {str(npz['format'])!r}, "
                                f"expected {FORMAT!r}")
            images, labels = decode(npz[f"x_{split}"]), npz[f"y_{split}"].astype(np.int64)
    except FileNotFoundError:
        raise FileNotFoundError(f"the bundled CIFAR-10 subset {path} is missing: reinstall minidl, or pass "
                                "download=True or set MINIDL_DATA") from None
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"bundled CIFAR-10 file {path} cannot be read: {type(exc).__name__}: {exc}; "
                        "reinstall minidl") from exc
    if images.shape[1:] != (3, 32, 32) or len(labels) != len(images):
        raise DataError(f"bundled CIFAR-10 file {path}: {split} images have shape {images.shape} and "
                        f"{len(labels)} labels, expected (N, 3, 32, 32) and N labels")
    return images, labels


def source(path=PATH):
    """The provenance note recorded in the bundled file."""
    with np.load(path, allow_pickle=False) as npz:
        return str(npz["source"])
