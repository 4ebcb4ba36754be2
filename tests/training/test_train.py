"""train()/evaluate(): learning beats chance, history, checkpoints, exact resume, divergence and Ctrl-C."""
import json
import math

import numpy as np
import pytest

import minidl
from minidl.parallel.replicas import is_leader
from minidl.training import History, TrainingDiverged


def test_two_epochs_beat_chance(tiny_data, small_cnn):
    history = minidl.train(small_cnn(), data=tiny_data, epochs=2, batch_size=32, lr=0.05, progress=False)
    assert isinstance(history, History) and len(history) == 2
    record = history.final
    assert set(record) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}
    assert record["train_acc"] > 0.2 and record["test_acc"] > 0.2  # chance is 0.1
    assert history[1]["train_loss"] < history[0]["train_loss"]


def test_evaluate_returns_loss_and_accuracy(tiny_data, small_cnn):
    model = small_cnn()
    result = minidl.evaluate(model, tiny_data[2:])
    assert 0.0 <= result.accuracy <= 1.0 and math.isfinite(result.loss)
    assert model.training  # evaluate restores the mode it found


def test_resume_gives_the_same_history_as_an_uninterrupted_run(tiny_data, tmp_path, small_cnn):
    settings = dict(data=tiny_data, epochs=3, batch_size=64, lr=0.05, progress=False, seed=1)
    full = minidl.train(small_cnn(1), **settings)

    path = tmp_path / "run.npz"
    # Interrupt after the first epoch by running a 3-epoch job whose loop we stop with a KeyboardInterrupt.
    model = small_cnn(1)
    calls = {"n": 0}
    original_forward = model.forward

    def forward_then_interrupt(x):
        # count training steps only (evaluation also calls forward), once per step although every thread of the
        # data-parallel step calls forward on its chunk
        calls["n"] += model.training and is_leader()
        if calls["n"] > math.ceil(600 / 64):  # the first batch of epoch 2
            raise KeyboardInterrupt
        return original_forward(x)

    model.forward = forward_then_interrupt
    partial = minidl.train(model, checkpoint=str(path), **settings)
    assert len(partial) == 1 and path.exists()

    resumed = minidl.train(small_cnn(1), checkpoint=str(path), resume=True, **settings)
    assert len(resumed) == 3
    for a, b in zip(full, resumed):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key


def test_resume_with_other_settings_is_refused(tiny_data, tmp_path, small_cnn):
    path = str(tmp_path / "run.npz")
    minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, progress=False, checkpoint=path)
    with pytest.raises(ValueError, match="other settings.*lr"):
        minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, lr=0.5, progress=False,
                     checkpoint=path, resume=True)


def test_resume_without_a_checkpoint_file_says_a_new_run_starts(tiny_data, tmp_path, capsys, small_cnn):
    path = tmp_path / "typo.npz"
    history = minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, progress=False,
                           checkpoint=str(path), resume=True)
    out = capsys.readouterr().out
    assert out.strip().splitlines() == [f"no checkpoint found at {path}: starting a new run (it will be saved there)"]
    assert len(history) == 1 and path.exists()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_nan_loss_stops_with_epoch_and_step(tiny_data, small_cnn):
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d+"):
        minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, lr=1e30, progress=False)


def test_history_json_and_bad_arguments(tiny_data, tmp_path, small_cnn):
    history = minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=100, progress=False)
    path = tmp_path / "h.json"
    history.to_json(path, model="small")
    saved = json.loads(path.read_text())
    assert saved["model"] == "small" and saved["epochs"][0]["epoch"] == 1
    assert History.from_json(path).column("test_acc") == history.column("test_acc")
    with pytest.raises(ValueError, match="epochs"):
        minidl.train(small_cnn(), data=tiny_data, epochs=-1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        minidl.train(small_cnn(), data=tiny_data, epochs=1, optimizer="rmsprop", progress=False)
    with pytest.raises(TypeError, match="data must be"):
        minidl.train(small_cnn(), data=42, epochs=1)


def test_cifar10_crops_are_padded_black_before_normalising():
    """train() on CIFAR-10 pads the random crop with black pixels, as torchvision's RandomCrop(32, padding=4)
    followed by Normalize, not with a normalised 0 (the mean colour)."""
    from minidl.training.loop import _resolve_data
    train_set, x_test, _ = _resolve_data("cifar10", 64, 0)
    x, _ = train_set.get_batch(np.arange(64), np.random.default_rng(0))
    black = minidl.data.normalize(np.zeros((1, 3, 1, 1), np.uint8))[0, :, 0, 0]
    top_rows = x[:, :, 0, :]
    black_top = np.all(np.abs(top_rows - black[None, :, None]) < 1e-6, axis=(1, 2))
    assert 10 <= black_top.sum() < 64  # a crop starting above the image (probability 4/9) has a black top row
    assert not np.any(np.all(top_rows == 0, axis=(1, 2)))
    assert x.dtype == x_test.dtype == np.float32
