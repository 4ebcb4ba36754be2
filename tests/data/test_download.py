"""Download (mocked with a local file:// archive, no network): md5 check, atomic rename, safe extraction."""
import hashlib
import io
import tarfile

import pytest

from minidl.data import CIFAR10, DataError, cache_dir, cifar10
from minidl.data import download
from minidl.data.download import safe_extract


def test_download_verifies_and_fills_the_cache(fake_archive, capsys, monkeypatch):
    x_train, y_train, x_test, y_test = cifar10(download=True)
    assert x_train.shape == (60, 3, 32, 32) and x_test.shape == (12, 3, 32, 32) and y_train[0] == 3
    assert sorted(p.name for p in cache_dir().iterdir()) == ["cifar-10-batches-py"]  # archive and temp gone
    assert "downloading" in capsys.readouterr().err
    # the next run finds the cache and downloads nothing
    monkeypatch.setattr(download, "URL", "file:///nonexistent/archive.tar.gz")
    assert CIFAR10(verbose=False).source.kind == "cache"


def test_md5_mismatch_leaves_nothing(fake_archive, monkeypatch):
    monkeypatch.setattr(download, "MD5", "0" * 32)
    with pytest.raises(DataError, match="md5 .* differs from the expected 0000"):
        CIFAR10(download=True, verbose=False)
    assert list(cache_dir().iterdir()) == []
    assert CIFAR10(verbose=False).source.kind == "bundled"  # the cache was not poisoned


def test_interrupted_download_leaves_nothing(fake_archive, monkeypatch):
    def broken(url, out, verbose=True):
        out.write(b"partial")
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(download, "fetch", broken)
    with pytest.raises(ConnectionResetError):
        CIFAR10(download=True, verbose=False)
    assert list(cache_dir().iterdir()) == []


def test_archive_without_the_folder_is_refused(tmp_path, monkeypatch, helpers):
    other = tmp_path / "other"
    other.mkdir()
    (other / "readme.txt").write_text("not cifar")
    archive = helpers.make_archive(tmp_path / "other.tar.gz", other)
    monkeypatch.setattr(download, "URL", archive.as_uri())
    monkeypatch.setattr(download, "MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    with pytest.raises(DataError, match="holds no cifar-10-batches-py"):
        CIFAR10(download=True, verbose=False)
    assert list(cache_dir().iterdir()) == []


def tar_with(path, member, data=b"x"):
    """A tar archive holding one ordinary file and then `member`."""
    with tarfile.open(path, "w") as tar:
        ok = tarfile.TarInfo("cifar-10-batches-py/ok.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("member, reason", [
    (_member("../evil"), "'..'"),
    (_member("cifar-10-batches-py/../../evil"), "'..'"),
    (_member("/tmp/minidl-evil"), "absolute path"),
    (_member("cifar-10-batches-py/link", tarfile.SYMTYPE, "/etc/passwd"), "a link"),
    (_member("cifar-10-batches-py/hard", tarfile.LNKTYPE, "cifar-10-batches-py/ok.txt"), "a link"),
    (_member("cifar-10-batches-py/dev", tarfile.CHRTYPE), "device"),
    (_member("cifar-10-batches-py/fifo", tarfile.FIFOTYPE), "device, fifo"),
])
def test_unsafe_members_refused_before_writing(tmp_path, member, reason):
    archive = tar_with(tmp_path / "bad.tar", member)
    dest = tmp_path / "dest" / "inner"
    dest.mkdir(parents=True)
    with pytest.raises(DataError) as err:
        safe_extract(archive, dest)
    assert member.name in str(err.value) and reason in str(err.value)
    assert list(dest.iterdir()) == [] and not (tmp_path / "dest" / "evil").exists()


def test_safe_archive_extracts_files(tmp_path, helpers):
    folder = helpers.fake_folder(tmp_path / "src")
    archive = helpers.make_archive(tmp_path / "a.tar.gz", folder)
    safe_extract(archive, tmp_path / "out")
    out = tmp_path / "out" / "cifar-10-batches-py"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in folder.iterdir())
    assert (out / "test_batch").read_bytes() == (folder / "test_batch").read_bytes()


def test_md5_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert download.md5_file(path) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321 test vector
