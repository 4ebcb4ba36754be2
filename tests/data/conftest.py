"""Fixtures for the data tests: an isolated environment (no MINIDL_DATA, a private cache and HOME), the
shared real CIFAR-10 subset, small fake CIFAR-10 folders and archives written on the fly, and a
per-image reference for the crop-and-flip augmentation."""
import hashlib
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from minidl.data.locate import resolve_folder

# Looked up once, before any test clears the variable: CI sets MINIDL_DATA to ../shared/data.
_REPO = Path(__file__).resolve().parents[2]
SHARED = resolve_folder(os.environ.get("MINIDL_DATA") or _REPO.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test sees the user's MINIDL_DATA, cache or HOME."""
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def shared():
    """The real 5,085 + 1,017-image subset in the official layout (skipped only where it is absent)."""
    if SHARED is None:
        pytest.skip("the shared CIFAR-10 subset is absent (neither $MINIDL_DATA nor ../shared/data holds it)")
    return SHARED


def write_batch(path, batch):
    """Pickle a batch dict the way the official files are (protocol 2)."""
    Path(path).write_bytes(pickle.dumps(batch, protocol=2))


def fake_folder(parent, per_file=20, seed=0, label_offset=0):
    """Write parent/cifar-10-batches-py with 5 train batches and a test batch of random images whose
    labels cycle through 0..9 (+ label_offset, to tell folders apart); return the folder."""
    rng = np.random.default_rng(seed)
    folder = Path(parent) / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)
        labels = [(i + label_offset) % 10 for i in range(per_file)]
        write_batch(folder / name, {b"batch_label": name.encode(), b"labels": labels, b"data": data})
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}, protocol=2))
    return folder


def make_archive(path, folder):
    """A .tar.gz holding `folder` under its own name, like the official archive."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return path


def find_shift(out, image, padding=4):
    """Per-image reference: every (top, left, flip) whose crop of the padded image equals `out`."""
    c, h, w = image.shape
    padded = np.zeros((c, h + 2 * padding, w + 2 * padding), image.dtype)
    padded[:, padding:padding + h, padding:padding + w] = image
    found = []
    for top in range(2 * padding + 1):
        for left in range(2 * padding + 1):
            crop = padded[:, top:top + h, left:left + w]
            found += [(top, left, flip) for flip, cand in ((False, crop), (True, crop[:, :, ::-1]))
                      if np.array_equal(cand, out)]
    return found


@pytest.fixture
def helpers():
    """The functions above, for tests (in pytest's importlib mode test files cannot import conftest)."""
    return Helpers


@pytest.fixture
def fake_archive(tmp_path, monkeypatch):
    """A small official-layout archive (train labels start at 3) served from a file:// URL, with the
    download module's URL and MD5 pointed at it; returns the archive's path."""
    from minidl.data import download

    folder = fake_folder(tmp_path / "archive-src", per_file=12, seed=1, label_offset=3)
    archive = make_archive(tmp_path / "cifar-10-python.tar.gz", folder)
    monkeypatch.setattr(download, "URL", archive.as_uri())
    monkeypatch.setattr(download, "MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    return archive


class Helpers:
    write_batch = staticmethod(write_batch)
    fake_folder = staticmethod(fake_folder)
    make_archive = staticmethod(make_archive)
    find_shift = staticmethod(find_shift)
