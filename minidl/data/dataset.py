"""Datasets: the `Dataset` protocol, `TensorDataset` over arrays, and `CIFAR10` with its array helper `cifar10`.

A dataset has `len(ds)` and `ds[i] -> (x, y)`. Datasets backed by arrays also offer `get_batch(indices,
augment_rng=None)`, which `DataLoader` uses to build a whole batch with a few array operations.
"""
import sys

import numpy as np

from .. import backend
from .augment import random_crop_flip
from .cifar10 import CLASSES
from .locate import describe, load_split
from .subset import balanced_subset
from .transforms import normalize as normalize_images


class Dataset:
    """Base class: subclasses define __len__ and __getitem__(i) -> (x, y)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Pairs of rows of two arrays (or Tensors): x (N, ...) and y (N,). Kept on the CPU, dtypes unchanged."""

    def __init__(self, x, y):
        x, y = (backend.to_device(getattr(a, "data", a), "cpu") for a in (x, y))
        self.x, self.y = np.asarray(x), np.asarray(y)
        if self.x.ndim == 0 or self.y.ndim == 0 or len(self.x) != len(self.y):
            raise ValueError(f"TensorDataset: x and y need the same first dimension, got shapes "
                             f"{self.x.shape} and {self.y.shape}")

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def get_batch(self, indices, augment_rng=None):
        x = self.x[indices]
        return (x if augment_rng is None else random_crop_flip(x, augment_rng)), self.y[indices]


class CIFAR10(Dataset):
    """CIFAR-10 (Krizhevsky 2009): 32x32 colour images of 10 classes, found as described in minidl.data.locate.

    `ds[i]` is (float32 image (3, 32, 32), int label); the image is normalised with transforms.MEAN/STD,
    or only scaled to 0-1 with normalize=False. `.data` holds the uint8 images in NCHW order (PyTorch's
    CIFAR10 keeps NHWC; NCHW is this framework's layout), `.targets` the int64 labels, `.classes` the names.
    `subset=N` keeps a class-balanced, seeded choice of N images of this split. download defaults to False
    (torchvision's CIFAR10 would need download=True too): a default must never start a 170 MB download
    unasked, so without data elsewhere the bundled subset is used. verbose prints one line (to stderr)
    saying which data is used; `.found` is the number of images of the split before any subset was taken.
    """

    def __init__(self, root=None, train=True, subset=None, seed=0, download=False, normalize=True, verbose=True):
        self.data, self.targets, self.source, self.found = _load(root, train, subset, seed, download, verbose)
        self.classes = list(CLASSES)
        self.train, self.normalize = train, normalize
        if verbose:
            split = "train" if train else "test"
            print(describe(self.source, {split: self.found}, subset, seed, split), file=sys.stderr, flush=True)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        return self.to_float(self.data[index][None])[0], int(self.targets[index])

    def get_batch(self, indices, augment_rng=None):
        images = self.data[indices]
        if augment_rng is not None:  # on the uint8 pixels, before normalising: padding is black
            images = random_crop_flip(images, augment_rng)
        return self.to_float(images), self.targets[indices]

    def to_float(self, images):
        """uint8 NCHW -> float32, normalised (or scaled to 0-1 when normalize=False)."""
        return _to_float(images, self.normalize)

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"CIFAR10({split}, {len(self):,} images from {self.source.kind}: {self.source.path})"


def _load(root, train, subset, seed, download, verbose):
    """-> (uint8 NCHW images, int64 labels, Source, number of images found before taking the subset)."""
    images, labels, source = load_split(root, train, download, verbose)
    found = len(images)
    if subset is not None:
        keep = balanced_subset(labels, subset, seed)
        images, labels = images[keep], labels[keep]
    return images, labels, source, found


def _to_float(images, normalize):
    return normalize_images(images) if normalize else images.astype(np.float32) * np.float32(1 / 255)


def cifar10(root=None, subset=None, seed=0, download=False, normalize=True, verbose=True):
    """CIFAR-10 as arrays: (x_train, y_train, x_test, y_test), images float32 NCHW, labels int64.

    Images are normalised per channel (transforms.MEAN/STD), or scaled to 0-1 with normalize=False.
    `subset=N` keeps a class-balanced, seeded choice of N training images; the test set stays whole so
    accuracies remain comparable. download defaults to False (see CIFAR10). Prints one line when verbose.
    """
    x_train, y_train, source, found_train = _load(root, True, subset, seed, download, verbose)
    x_test, y_test, _, found_test = _load(root, False, None, seed, download, verbose)
    if verbose:
        print(describe(source, {"train": found_train, "test": found_test}, subset, seed), file=sys.stderr,
              flush=True)
    return _to_float(x_train, normalize), y_train, _to_float(x_test, normalize), y_test
