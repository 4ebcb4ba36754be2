"""A run whose loss, weights or test loss leave the finite range stops before writing them anywhere, names the
epoch and step and what to change, and keeps the last good checkpoint; non-finite data is refused when loaded."""
import math

import numpy as np
import pytest

import minidl
from minidl import optim
from minidl.training import TrainingDiverged, loop

STEPS = math.ceil(600 / 64)  # per epoch of tiny_data in batches of 64


def _poison_after(monkeypatch, steps):
    """Make SGD write a NaN into the first weight after its `steps`-th update (the loss stays finite until then)."""
    real_step, count = optim.SGD.step, {"n": 0}

    def step(self):
        real_step(self)
        count["n"] += 1
        if count["n"] == steps:
            self.param_groups[0]["params"][0].data[0] = np.nan

    monkeypatch.setattr(optim.SGD, "step", step)


def test_nan_weights_after_the_last_step_stop_before_the_checkpoint_is_written(tiny_data, small_cnn, tmp_path,
                                                                               monkeypatch):
    path = tmp_path / "c.npz"
    _poison_after(monkeypatch, 2 * STEPS)  # the last step of epoch 2
    with pytest.raises(TrainingDiverged, match=rf"the weights became NaN or infinite at epoch 2, step {STEPS} "
                                               rf"\(the epoch's last; first in 0.weight\) \(lr 0.05, momentum 0.9\); "
                                               rf"lower the learning rate.*{path} keeps epoch 1, the last finite one"
                       ) as caught:
        minidl.train(small_cnn(), data=tiny_data, epochs=2, batch_size=64, lr=0.05, progress=False,
                     checkpoint=str(path))
    assert len(caught.value.history) == 1  # the epochs finished before, for the caller to keep
    kept = minidl.load(path)
    assert kept["epoch"] == 1
    assert all(np.isfinite(t.data).all() for t in kept["model"].values())


def test_a_non_finite_test_loss_stops_before_the_history_gets_it(tiny_data, small_cnn, monkeypatch):
    monkeypatch.setattr(loop, "evaluate", lambda *args, **kwargs: loop.Evaluation(float("inf"), 0.1))
    with pytest.raises(TrainingDiverged, match=rf"test loss became NaN or infinite after epoch 1 \(step {STEPS}"
                       ) as caught:
        minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, progress=False)
    assert len(caught.value.history) == 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_huge_momentum_is_named_as_the_likely_cause(tiny_data, small_cnn):
    with pytest.raises(TrainingDiverged, match="momentum 50.*lower the learning rate or momentum"):
        minidl.train(small_cnn(), data=tiny_data, epochs=1, batch_size=64, momentum=50, progress=False)


@pytest.mark.parametrize("index,name,row,value", [(0, "x_train", 5, np.nan), (2, "x_test", 7, -np.inf)])
def test_non_finite_images_are_refused_when_loaded_not_blamed_on_the_learning_rate(tiny_data, small_cnn, index, name,
                                                                                   row, value):
    data = [a.copy() for a in tiny_data]
    data[index][row, 1, 2, 3] = value
    with pytest.raises(ValueError, match=rf"train: {name} holds 1 NaN or infinite values \(the first in row {row}\)"):
        minidl.train(small_cnn(), data=tuple(data), epochs=1, batch_size=64, progress=False)
