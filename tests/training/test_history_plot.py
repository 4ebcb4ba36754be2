"""History.plot writes a PNG and leaves matplotlib's backend (a notebook's, a script's) as it was."""
import pytest

from minidl.training import History


def test_plot_writes_a_png_without_switching_the_backend(tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="History.plot needs the `plot` extra (matplotlib)")
    matplotlib.use("svg")
    history = History()
    for epoch in (1, 2):
        history.append(epoch=epoch, train_loss=1.0 / epoch, train_acc=0.3 * epoch, test_loss=1.1 / epoch,
                       test_acc=0.25 * epoch, lr=0.1, seconds=1.0)
    history.plot(tmp_path / "curves.png", title="demo")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == "svg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]  # no temporary left behind
