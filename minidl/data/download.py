"""Download the official CIFAR-10 archive into the cache: temporary name, md5 check, rename, safe extraction.

A partial or tampered download can never be mistaken for data: the archive is only renamed to its final
name once its md5 matches, and the folder only appears in the cache once every file is extracted.
"""
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from .._atomic import atomic_open
from .cifar10 import FOLDER
from .errors import DataError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # torchvision's tgz_md5; docs/references.md [krizhevsky2009]
ARCHIVE = "cifar-10-python.tar.gz"
_CHUNK = 1 << 20


def md5_file(path):
    """Hex md5 of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url, out, verbose=True):
    """Copy the bytes at `url` into the open binary file `out`, with a tqdm bar when verbose.

    A network failure (no connection, a refused or timed-out request, an HTTP error) raises ConnectionError
    saying how to proceed without a download; errors writing `out` pass through unchanged."""
    import http.client  # imported here: 25 ms that only a download needs
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="CIFAR-10", disable=not verbose,
                      file=sys.stderr) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as error:
        raise ConnectionError(f"cannot download {url} ({getattr(error, 'reason', None) or error}); check the "
                              f"network connection, or put CIFAR-10's {FOLDER}/ folder somewhere and point to it "
                              "with --data (data=... in Python) or MINIDL_DATA") from error


def download_archive(url, md5, folder, verbose=True):
    """Download `url` into `folder`, verify its md5, and only then give it its final name."""
    folder = Path(folder)
    final = folder / ARCHIVE
    with atomic_open(final, "wb") as out:
        fetch(url, out, verbose)
        out.flush()
        got = md5_file(out.name)
        if got != md5:
            raise DataError(f"download of {url}: md5 {got} differs from the expected {md5}; the file was "
                            "deleted (an interrupted transfer or a proxy page?): try again")
    return final


def _unsafe_reason(member):
    """Why a tar member could write outside the target folder or create something odd; None if it is safe."""
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a path with '..'"
    if member.issym() or member.islnk():
        return f"a link (to {member.linkname!r})"
    if not (member.isfile() or member.isdir()):
        return "a device, fifo or other special file"
    return None


def safe_extract(archive, dest):
    """Extract a tar archive into `dest`, refusing it whole if any member is absolute, has '..', a link or a device.

    Members are checked before anything is written, and files are written by this code, not by tarfile's
    extractall, so nothing but plain folders and files can appear under `dest`.
    """
    dest = Path(dest)
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            reason = _unsafe_reason(member)
            if reason:
                raise DataError(f"refusing to extract {archive}: member {member.name!r} is {reason}")
        for member in members:
            target = dest.joinpath(*PurePosixPath(member.name.replace("\\", "/")).parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)


def download_cifar10(cache, url=None, md5=None, verbose=True):
    """Download, verify and extract CIFAR-10 into `cache`/cifar-10-batches-py; return that folder.

    `url` and `md5` default to the module's URL and MD5 (looked up at call time, so tests can point them
    at a local file:// archive).
    """
    url, md5 = url or URL, md5 or MD5
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    if verbose:
        print(f"minidl.data: downloading {url} (170 MB) into {cache}", file=sys.stderr, flush=True)
    archive = download_archive(url, md5, cache, verbose)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=cache))
    try:
        safe_extract(archive, staging)
        if not (staging / FOLDER).is_dir():
            raise DataError(f"archive {archive} (from {url}) holds no {FOLDER}/ folder")
        os.rename(staging / FOLDER, cache / FOLDER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
    return cache / FOLDER
