"""A checkpoint made on a GPU resumes on a machine without one: train() loads it onto its own device (what
map_location would say) and the CLI's --device picks that device. The GPU run uses the NumPy-backed stand-in for
CuPy (tests/fake_cupy) in a subprocess; the resume runs here, where (without --fake-cupy) no GPU exists."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl import serialization
from minidl.cli import main

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)

GPU_RUN_STOPPED_AFTER_EPOCH_1 = """
import sys
import numpy as np
import minidl
from minidl import nn
from minidl.training import loop
save = loop.save_checkpoint
def save_then_stop(*args, **kwargs):  # Ctrl-C right after the first epoch's checkpoint
    save(*args, **kwargs)
    raise KeyboardInterrupt
loop.save_checkpoint = save_then_stop
with np.load(sys.argv[1]) as arrays:
    data = tuple(arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
minidl.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
history = minidl.train(model, data=data, epochs=2, batch_size=16, lr=0.05, progress=False, device="cuda",
                       checkpoint=sys.argv[2])
assert history.interrupted and len(history) == 1
"""


def test_a_gpu_checkpoint_resumes_on_the_cpu_with_the_history_of_an_uninterrupted_run(tiny_data, small_cnn,
                                                                                       tmp_path):
    data = tuple(a[:48] for a in tiny_data[:2]) + tuple(a[:16] for a in tiny_data[2:])
    np.savez(tmp_path / "data.npz", **dict(zip(("x_train", "y_train", "x_test", "y_test"), data)))
    checkpoint = tmp_path / "gpu.npz"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(TESTS, "fake_cupy"), ROOT]))
    gpu = subprocess.run([sys.executable, "-c", GPU_RUN_STOPPED_AFTER_EPOCH_1, str(tmp_path / "data.npz"),
                          str(checkpoint)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert gpu.returncode == 0, gpu.stderr
    with np.load(checkpoint) as archive:
        assert '"device": "cuda"' in str(archive["__minidl__"])  # its arrays come from the (stand-in) GPU

    settings = dict(data=data, epochs=2, batch_size=16, lr=0.05, progress=False, device="cpu")
    resumed = minidl.train(small_cnn(), checkpoint=str(checkpoint), resume=True, **settings)
    full = minidl.train(small_cnn(), **settings)
    assert len(resumed) == 2
    for a, b in zip(resumed, full):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key


def _as_if_saved_on_a_gpu(path):
    """Rewrite a checkpoint's structure so that every array says it was saved from 'cuda' (what save() writes on
    a GPU machine; the stored bytes are the same)."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["__minidl__"] = np.array(str(arrays["__minidl__"]).replace('"device": "cpu"', '"device": "cuda"'))
    with open(path, "wb") as f:
        serialization._write_npz(f, arrays)


def test_the_cli_resumes_a_gpu_checkpoint_on_its_device(tmp_path, capsys):
    checkpoint = tmp_path / "c.npz"
    argv = ["train", "resnet20", "--epochs", "1", "--subset", "40", "--batch-size", "40", "--no-progress",
            "--checkpoint", str(checkpoint)]
    assert main(argv) == 0
    _as_if_saved_on_a_gpu(checkpoint)
    if not minidl.cuda.is_available():
        with pytest.raises(RuntimeError, match="no GPU is available here"):
            minidl.load(checkpoint)
    capsys.readouterr()
    assert main(argv + ["--resume", "--device", "cpu"]) == 0
    assert "resnet20: final test accuracy" in capsys.readouterr().out
    assert json.loads(minidl.load(checkpoint, map_location="cpu")["made_by"])["name"] == "resnet20"
