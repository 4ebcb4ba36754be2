"""Checkpoints record which model made them: resume refuses another model (plain20 from resnet20's weights) in one
line naming both, or a model that does not fit; checkpoints written before the record existed still load."""
import json

import numpy as np
import pytest

import minidl
from minidl import models, nn


@pytest.fixture(scope="module")
def few_images(tiny_data):
    """64 training and 32 test images of 16x16: enough for one quick epoch of a zoo model."""
    x_train, y_train, x_test, y_test = tiny_data
    return x_train[:64], y_train[:64], x_test[:32], y_test[:32]


def _one_epoch(model, data, path, **kwargs):
    return minidl.train(model, data=data, epochs=1, batch_size=32, progress=False, checkpoint=str(path), **kwargs)


def test_resume_refuses_a_checkpoint_of_another_zoo_model(few_images, tmp_path):
    path = tmp_path / "c.npz"
    _one_epoch(models.create("resnet20"), few_images, path)
    plain = models.create("plain20")
    before = {k: v.data.copy() for k, v in plain.state_dict().items()}
    with pytest.raises(ValueError) as caught:
        _one_epoch(plain, few_images, path, resume=True)
    assert str(caught.value) == (f"resume: {path} was made by resnet20, not plain20; resume with resnet20, or give "
                                 "plain20 another checkpoint path to start a new run")
    assert all(np.array_equal(before[k], v.data) for k, v in plain.state_dict().items())  # nothing was loaded


def test_resume_refuses_other_constructor_arguments(few_images, tmp_path):
    path = tmp_path / "c.npz"
    _one_epoch(models.create("resnet20"), few_images, path)
    with pytest.raises(ValueError, match=r"made by resnet20\(num_classes=10, depth=20\), not "
                                         r"resnet20\(num_classes=10, depth=20, shortcut='B'\)"):
        _one_epoch(models.create("resnet20", shortcut="B"), few_images, path, resume=True)


def test_the_checkpoint_names_the_model_and_its_arguments(few_images, tmp_path, small_cnn):
    path = tmp_path / "c.npz"
    _one_epoch(models.create("highway20", gate_bias=-3.0), few_images, path)
    assert json.loads(minidl.load(path)["made_by"]) == {
        "name": "highway20", "args": {"num_classes": 10, "depth": 20, "gate_bias": -3.0}}
    _one_epoch(small_cnn(), few_images, path)
    assert json.loads(minidl.load(path)["made_by"]) == {"name": "Sequential", "args": None}


def test_a_checkpoint_written_before_the_model_record_still_resumes_with_a_warning(few_images, tmp_path, small_cnn):
    path = tmp_path / "old.npz"
    _one_epoch(small_cnn(), few_images, path)
    state = minidl.load(path)
    del state["made_by"]
    config = json.loads(state["config"])
    del config["train_images"], config["test_images"]  # settings that older checkpoints do not record
    state["config"] = json.dumps(config, sort_keys=True)
    minidl.save(state, path)
    with pytest.warns(UserWarning, match=f"resume: {path} does not record which model made it"):
        history = _one_epoch(small_cnn(), few_images, path, resume=True)  # loads it all, then has nothing to do
    assert history.records == json.loads(state["history"])


def test_resume_into_a_hand_built_model_of_another_shape_is_one_clear_line(few_images, tmp_path, small_cnn):
    path = tmp_path / "c.npz"
    _one_epoch(small_cnn(), few_images, path)
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    with pytest.raises(ValueError, match=rf"resume: {path} does not fit this model \(error\(s\) loading the state "
                                         r"dict of Sequential \(nothing was loaded\):; missing keys") as caught:
        _one_epoch(other, few_images, path, resume=True)
    assert "\n" not in str(caught.value)


def test_resume_refuses_other_data(few_images, tmp_path, small_cnn):
    path = tmp_path / "c.npz"
    _one_epoch(small_cnn(), few_images, path)
    fewer = (few_images[0][:48], few_images[1][:48], *few_images[2:])
    with pytest.raises(ValueError, match="other settings.*train_images: checkpoint 64 vs now 48"):
        _one_epoch(small_cnn(), fewer, path, resume=True)


def test_resume_refuses_a_saved_file_that_is_not_a_checkpoint(few_images, tmp_path, small_cnn):
    path = tmp_path / "weights.npz"
    minidl.save(small_cnn().state_dict(), path)
    with pytest.raises(ValueError, match=f"resume: {path} is a minidl.save file but not a training checkpoint"):
        _one_epoch(small_cnn(), few_images, path, resume=True)
