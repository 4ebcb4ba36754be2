"""The command line: listing, summary, a tiny real training run, and one-line errors with exit code 2."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from minidl.cli import main


def test_models_lists_the_zoo_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "resnet20" in out and "269,722" in out


def test_summary_prints_the_layers(capsys):
    assert main(["summary", "resnet20"]) == 0
    assert "269,722" in capsys.readouterr().out


def _tiny_cifar_folder(parent, per_file=16):
    """A CIFAR-10 folder in the official layout with 5 x 16 training and 16 test images (random pixels)."""
    folder = parent / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"labels": [i % 10 for i in range(per_file)],
                 b"data": rng.integers(0, 256, (per_file, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return parent


def test_train_writes_history_and_prints_final_accuracy(tmp_path, capsys):
    path = tmp_path / "h.json"
    data = _tiny_cifar_folder(tmp_path)
    code = main(["train", "resnet20", "--epochs", "1", "--batch-size", "40", "--no-progress", "--data", str(data),
                 "--history", str(path)])
    assert code == 0
    assert "final test accuracy" in capsys.readouterr().out
    saved = json.loads(path.read_text())
    assert saved["model"] == "resnet20" and saved["args"]["epochs"] == 1
    assert set(saved["epochs"][0]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}


@pytest.mark.parametrize("argv,message", [
    (["train", "resnet21"], "unknown model 'resnet21'; did you mean"),
    (["train", "resnet20", "--epochs", "-1"], "must be >= 0"),
    (["train", "resnet20", "--data", "/no/such/folder"], "no such folder"),
    (["train", "resnet20", "--resume"], "--resume needs --checkpoint"),
    (["train", "resnet20", "--schedule", "linear"], "invalid choice"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(argv, message):
    result = subprocess.run([sys.executable, "-m", "minidl", *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def _cli(*argv, env=None, cwd=None):
    """Run `python -m minidl ARGV` in a fresh process: (exit code, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-m", "minidl", *map(str, argv)], capture_output=True, text=True,
                            env=env, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def _one_line(stderr):
    """The single line a failure prints (asserting it is one line and no traceback)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_the_same_file_for_checkpoint_and_history_is_refused_before_anything_is_written(tmp_path):
    checkpoint = tmp_path / "c.npz"
    checkpoint.write_bytes(b"the user's checkpoint")
    code, _, err = _cli("train", "resnet20", "--checkpoint", checkpoint, "--history", tmp_path / "." / "c.npz")
    assert code == 2
    assert _one_line(err) == (f"python -m minidl: error: --checkpoint and --history name the same file {checkpoint}; "
                              "one would overwrite the other: give them different names")
    assert checkpoint.read_bytes() == b"the user's checkpoint"


def test_a_folder_as_the_history_file_fails_before_training(tmp_path):
    code, _, err = _cli("train", "resnet20", "--history", tmp_path)
    assert code == 1
    assert _one_line(err) == (f"python -m minidl: error: --history {tmp_path}: is a folder; give a file name inside "
                              f"it, e.g. {tmp_path}/history.json")


def test_missing_folders_are_created_for_checkpoint_and_history(tmp_path, capsys):
    data = _tiny_cifar_folder(tmp_path)
    checkpoint, history = tmp_path / "runs" / "a" / "c.npz", tmp_path / "logs" / "h.json"
    assert main(["train", "resnet20", "--epochs", "1", "--batch-size", "40", "--no-progress", "--data", str(data),
                 "--checkpoint", str(checkpoint), "--history", str(history)]) == 0
    assert checkpoint.is_file() and history.is_file()
