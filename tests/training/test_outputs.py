"""Output paths are checked before the first step: a folder given as a file, a folder that cannot be written, a
file where a folder should be; a missing folder is created."""
import errno
import tempfile

import pytest

import minidl
from minidl.training.outputs import prepare_output, same_file


def test_a_missing_folder_is_created(tmp_path):
    prepare_output(tmp_path / "a" / "b" / "run.npz", "--checkpoint")
    assert (tmp_path / "a" / "b").is_dir() and list((tmp_path / "a" / "b").iterdir()) == []


def test_a_folder_given_as_the_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match=f"--history {tmp_path}: is a folder; give a file name inside it, e.g. "
                                         f"{tmp_path}/history.json"):
        prepare_output(tmp_path, "--history")


def test_a_device_is_not_replaced_by_a_file():
    with pytest.raises(ValueError, match="--history /dev/null: is not a regular file"):
        prepare_output("/dev/null", "--history")


def test_a_file_where_a_folder_should_be_is_refused(tmp_path):
    (tmp_path / "notes").write_text("mine")
    with pytest.raises(ValueError, match=f"{tmp_path}/notes is a file, not a folder"):
        prepare_output(tmp_path / "notes" / "sub" / "run.npz", "--checkpoint")
    assert (tmp_path / "notes").read_text() == "mine"


def test_an_unwritable_folder_is_refused(tmp_path, monkeypatch):
    def denied(*args, **kwargs):  # what a read-only folder gives a user who is not root
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(ValueError, match=f"--checkpoint {tmp_path}/run.npz: cannot write in the folder {tmp_path} "
                                         r"\(Permission denied\); choose another path"):
        prepare_output(tmp_path / "run.npz", "--checkpoint")


def test_same_file_sees_through_links_and_spellings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert same_file("c.npz", str(tmp_path / "sub" / ".." / "c.npz"))
    (tmp_path / "c.npz").write_bytes(b"x")
    (tmp_path / "link.npz").symlink_to(tmp_path / "c.npz")
    assert same_file("link.npz", "c.npz") and not same_file("c.npz", "h.json")


def test_train_checks_its_checkpoint_path_before_the_first_step(tmp_path, small_cnn, monkeypatch):
    monkeypatch.setattr(minidl.training.loop, "_resolve_data", lambda *a: pytest.fail("the data was loaded"))
    with pytest.raises(ValueError, match="train: checkpoint .*: is a folder"):
        minidl.train(small_cnn(), epochs=1, checkpoint=str(tmp_path))
