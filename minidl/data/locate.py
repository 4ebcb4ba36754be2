"""Where CIFAR-10 comes from, in order: an explicit root, $MINIDL_DATA, the user cache, a download (only
when asked for), and last the subset bundled inside the package.

A download never starts unasked (170 MB should be a choice): a newcomer's first run uses the bundled
subset, and the one line describing the data says how to get the full set.
"""
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import bundled
from .cifar10 import FOLDER, FULL_SIZES, TEST_FILES, TRAIN_FILES, read_split
from .download import download_cifar10
from .errors import DataError

ENV_VAR = "MINIDL_DATA"
_HOW_TO_GET_ALL = (f"for the full 50,000 + 10,000 images pass download=True (CLI --download) or set {ENV_VAR} "
                   f"to a folder holding {FOLDER}/")


@dataclass(frozen=True)
class Source:
    """Where the data was found: kind is 'root', 'env', 'cache', 'download' or 'bundled'; path the folder
    holding the batch files (or the bundled .npz)."""
    kind: str
    path: Path


def cache_dir():
    """The user cache for minidl: $XDG_CACHE_HOME/minidl, else ~/.cache/minidl."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minidl"


def resolve_folder(root):
    """The batch folder of `root`: root/cifar-10-batches-py, or root itself if it holds batch files; else None."""
    root = Path(root).expanduser()
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if any((root / name).is_file() for name in TRAIN_FILES + TEST_FILES):
        return root
    return None


def _required_folder(given, what):
    folder = resolve_folder(given)
    if folder is None:
        raise FileNotFoundError(f"CIFAR-10 not found in {what} '{given}': expected a folder containing "
                                f"{FOLDER}/ or that folder itself (data_batch_1..5, test_batch)")
    return folder


def locate(root=None, download=False, verbose=True):
    """Find CIFAR-10 (see the module docstring for the order) and return its Source.

    An explicit root or $MINIDL_DATA that holds no CIFAR-10 is an error rather than a silent fallback.
    """
    if root is not None:
        return Source("root", _required_folder(root, "the given root"))
    if os.environ.get(ENV_VAR):
        return Source("env", _required_folder(os.environ[ENV_VAR], f"${ENV_VAR}"))
    cached = cache_dir() / FOLDER
    if cached.is_dir():
        return Source("cache", cached)
    if download:
        return Source("download", download_cifar10(cache_dir(), verbose=verbose))
    return Source("bundled", bundled.PATH)


def _discard(folder):
    """Remove a damaged cache folder: renamed away first, so a half-deleted folder is never found."""
    trash = Path(tempfile.mkdtemp(prefix=".damaged-", dir=folder.parent))
    os.rename(folder, trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)


def load_split(root=None, train=True, download=False, verbose=True):
    """Locate CIFAR-10 and read one split -> (uint8 NCHW images, int64 labels, Source).

    A damaged cached copy is never used: with download=True it is deleted and downloaded again, otherwise
    the error names the file and says how to repair the cache.
    """
    source = locate(root, download, verbose)
    if source.kind == "bundled":
        return (*bundled.load(train), source)
    try:
        return (*read_split(source.path, train), source)
    except (DataError, FileNotFoundError) as exc:
        if source.kind != "cache":
            raise
        if not download:
            raise DataError(f"{exc}. The cached copy in {source.path} is damaged: delete that folder, or run "
                            "again with download=True (CLI --download) to replace it") from exc
    _discard(source.path)
    source = Source("download", download_cifar10(cache_dir(), verbose=verbose))
    return (*read_split(source.path, train), source)


def describe(source, sizes, subset=None, seed=0, subset_split="train"):
    """The one line saying which data is used; `sizes` maps split name ('train'/'test') to images found,
    `subset` is the size of the class-balanced subset taken of `subset_split`, if any."""
    counts = " + ".join(f"{n:,} {split}" for split, n in sizes.items())
    if source.kind == "bundled":
        line, partial = f"minidl.data: CIFAR-10 subset bundled with minidl ({counts} images)", True
    else:
        origin = {"root": "the given root", "env": f"${ENV_VAR}", "cache": "the user cache",
                  "download": "downloaded to the user cache"}[source.kind]
        line = f"minidl.data: CIFAR-10 from {source.path} ({origin}): {counts} images"
        partial = any(n != FULL_SIZES[split == "train"] for split, n in sizes.items())
    if subset is not None:
        line += f", of which a class-balanced subset of {subset:,} {subset_split} images (seed {seed})"
    return f"{line}; {_HOW_TO_GET_ALL}" if partial else line
