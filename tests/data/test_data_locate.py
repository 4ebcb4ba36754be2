"""Where the data is found: explicit root, then $MINIDL_DATA, then the user cache, then a download (only
when asked for), then the bundled subset; and a damaged cache is never used silently."""
import numpy as np
import pytest

from minidl.data import CIFAR10, DataError, cache_dir, locate
from minidl.data import bundled


@pytest.fixture
def three_places(tmp_path, monkeypatch, helpers):
    """Fake CIFAR-10 in an explicit root (labels start 0), in $MINIDL_DATA (1) and in the cache (2)."""
    root = helpers.fake_folder(tmp_path / "root", seed=0, label_offset=0).parent
    env = helpers.fake_folder(tmp_path / "env", seed=1, label_offset=1).parent
    helpers.fake_folder(cache_dir(), seed=2, label_offset=2)
    monkeypatch.setenv("MINIDL_DATA", str(env))
    return root


def test_root_beats_env_beats_cache_beats_bundled(three_places, monkeypatch):
    assert locate(three_places).kind == "root" and CIFAR10(three_places, verbose=False).targets[0] == 0
    assert locate().kind == "env" and CIFAR10(verbose=False).targets[0] == 1
    monkeypatch.delenv("MINIDL_DATA")
    assert locate().kind == "cache" and CIFAR10(verbose=False).targets[0] == 2
    monkeypatch.setenv("XDG_CACHE_HOME", str(three_places / "empty"))
    assert locate().kind == "bundled" and len(CIFAR10(verbose=False)) == 5085


def test_root_may_name_the_batch_folder_itself(tmp_path, helpers):
    folder = helpers.fake_folder(tmp_path, label_offset=5)
    assert locate(folder).path == folder == locate(tmp_path).path
    assert CIFAR10(str(folder), train=False, verbose=False).targets[0] == 5


def test_cache_follows_xdg_then_home(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "xdg-cache" / "minidl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == tmp_path / "home" / ".cache" / "minidl"


def test_missing_root_or_env_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="given root .*nowhere"):
        locate(tmp_path / "nowhere")
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"\$MINIDL_DATA"):
        CIFAR10(verbose=False)
    monkeypatch.setenv("MINIDL_DATA", "")  # an empty variable counts as unset
    assert locate().kind == "bundled"


def test_no_download_unless_asked(monkeypatch):
    from minidl.data import download

    def no_network(*args, **kwargs):
        raise AssertionError("a download started unasked")

    monkeypatch.setattr(download, "fetch", no_network)
    assert CIFAR10(verbose=False).source.kind == "bundled"


def test_one_line_names_the_data(tmp_path, capsys, helpers):
    CIFAR10(subset=100)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bundled" in err and "download=True" in err and "MINIDL_DATA" in err
    assert "5,085 train" in err and "subset of 100" in err
    folder = helpers.fake_folder(tmp_path)
    CIFAR10(folder, train=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(folder) in err and "20 test images" in err
    CIFAR10(folder, verbose=False)
    assert capsys.readouterr() == ("", "")


def test_damaged_cache_is_named_not_used(tmp_path, helpers):
    folder = helpers.fake_folder(cache_dir())
    damaged = folder / "data_batch_4"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with pytest.raises(DataError) as err:
        CIFAR10(verbose=False)
    message = str(err.value)
    assert str(damaged) in message and "delete that folder" in message and "download=True" in message
    assert damaged.exists()  # nothing removed without being asked


def test_damaged_cache_is_replaced_when_download_is_asked(helpers, fake_archive):
    folder = helpers.fake_folder(cache_dir(), label_offset=0)
    (folder / "test_batch").write_bytes(b"garbage")
    test = CIFAR10(train=False, download=True, verbose=False)
    assert test.source.kind == "download" and test.targets[0] == 3  # the archive's labels start at 3
    assert sorted(p.name for p in cache_dir().iterdir()) == ["cifar-10-batches-py"]


def test_bundled_used_when_nothing_else(capsys):
    ds = CIFAR10(train=False, verbose=False)
    assert ds.source.path == bundled.PATH and len(ds) == 1017
    assert ds.data.dtype == np.uint8
