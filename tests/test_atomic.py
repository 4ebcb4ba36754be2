"""atomic_open: the target appears whole with the usual permissions, or stays as it was with nothing left beside it."""
import os
import stat

import pytest

from minidl._atomic import atomic_open


def test_a_complete_write_replaces_the_file_with_umask_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_open(target, "w") as f:
        f.write("new")
        assert target.read_text() == "old"  # nothing is visible before the block ends
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's owner-only 0o600
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_error_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]
