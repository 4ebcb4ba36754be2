"""atomic_open: the target appears whole with the usual permissions, or stays as it was with nothing left beside it;
temporary files that killed writers left behind are removed by the next write."""
import os
import stat
import subprocess
import sys

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


def test_the_temporary_name_carries_the_writers_pid(tmp_path):
    with atomic_open(tmp_path / "c.npz") as f:
        name = os.path.basename(f.name)
    assert name.startswith(f".c.npz.{os.getpid()}-") and name.endswith(".part")


def test_temporary_files_of_dead_writers_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a process that has exited
    stale = tmp_path / f".c.npz.{dead}-abcd1234.part"
    live = tmp_path / f".c.npz.{os.getpid()}-efgh5678.part"  # another thread of a live process may be writing
    others = [tmp_path / f".d.npz.{dead}-abcd1234.part", tmp_path / "c.npz.part", tmp_path / f".c.npz.{dead}.part"]
    for path in [stale, live, *others]:
        path.write_bytes(b"half")
    with atomic_open(tmp_path / "c.npz") as f:
        f.write(b"whole")
    assert not stale.exists()
    assert live.exists() and all(path.exists() for path in others)  # not ours, or not stale: kept
    assert (tmp_path / "c.npz").read_bytes() == b"whole"


def test_the_umask_is_the_one_at_write_time_not_at_import(tmp_path):
    """minidl reads no umask when imported (reading it means setting it); the kernel applies the current one."""
    target = tmp_path / "private.bin"
    previous = os.umask(0o077)
    try:
        with atomic_open(target) as f:
            f.write(b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
