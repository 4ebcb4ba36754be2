"""Read and validate CIFAR-10's official python files (the `cifar-10-batches-py/` folder).

Each batch file is a pickled dict with byte-string keys: `b'data'`, a uint8 array of shape (N, 3072) whose
rows are 1024 red, 1024 green, then 1024 blue values of a 32x32 image (row-major), and `b'labels'`, N
ints in 0..9 (Krizhevsky 2009 [krizhevsky2009], docs/references.md). Everything is checked before it is used.
"""
from pathlib import Path

import numpy as np

from . import safe_pickle
from .errors import DataError

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FULL_SIZES = {True: 50_000, False: 10_000}  # images in the official train / test split


def read_batch(path):
    """One batch file -> (images uint8 (N, 3, 32, 32), labels int64 (N,)), or a DataError naming the file."""
    path = Path(path)
    try:
        batch = safe_pickle.load(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # truncated (EOFError), garbage (UnpicklingError), a refused global, ...
        raise DataError(f"CIFAR-10 file {path} cannot be read: {type(exc).__name__}: {exc} "
                        "(the file is truncated, corrupted or not a CIFAR-10 batch)") from exc
    if not isinstance(batch, dict):
        raise DataError(f"CIFAR-10 file {path} holds a {type(batch).__name__}, expected a dict with keys "
                        "b'data' and b'labels'")
    missing = [key for key in (b"data", b"labels") if key not in batch]
    if missing:
        raise DataError(f"CIFAR-10 file {path} lacks the key(s) {missing}; it has {sorted(map(repr, batch))}")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"dtype {data.dtype}, shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"CIFAR-10 file {path}: b'data' must be a uint8 array of shape (N, 3072), got {found}")
    if len(data) == 0:
        raise DataError(f"CIFAR-10 file {path}: b'data' holds no images")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"CIFAR-10 file {path}: b'labels' must be a list of ints, got dtype {labels.dtype}, "
                        f"shape {labels.shape}")
    if len(labels) != len(data):
        raise DataError(f"CIFAR-10 file {path}: {len(labels)} labels for {len(data)} images")
    if labels.min() < 0 or labels.max() >= len(CLASSES):
        bad = labels[(labels < 0) | (labels >= len(CLASSES))]
        raise DataError(f"CIFAR-10 file {path}: labels must be in 0..9, found {bad[:5].tolist()} "
                        f"({len(bad)} out of range)")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def split_files(train):
    """The file names of the training (True) or test (False) split."""
    return TRAIN_FILES if train else TEST_FILES


def read_split(folder, train=True):
    """All batches of one split in `folder` -> (uint8 NCHW images, int64 labels)."""
    folder = Path(folder)
    missing = [name for name in split_files(train) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 folder {folder} lacks {', '.join(missing)} "
                                f"(expected the official files {', '.join(split_files(train))})")
    parts = [read_batch(folder / name) for name in split_files(train)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
