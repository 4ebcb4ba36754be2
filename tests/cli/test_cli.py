"""The command line: listing, summary, a tiny real training run, and every failure as one line (exit code 1, 2 for
bad arguments, 130 for Ctrl-C) with the traceback only under --debug or MINIDL_DEBUG=1."""
import errno
import json
import os
import zipfile
import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl.cli import main


def test_models_lists_the_zoo_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "resnet20" in out and "269,722" in out


def test_summary_prints_the_layers(capsys):
    assert main(["summary", "resnet20"]) == 0
    assert "269,722" in capsys.readouterr().out


def test_train_writes_history_and_prints_final_accuracy(tmp_path, capsys, tiny_cifar_folder):
    path = tmp_path / "h.json"
    data = tiny_cifar_folder
    code = main(["train", "resnet20", "--epochs", "1", "--batch-size", "40", "--no-progress", "--data", str(data),
                 "--history", str(path)])
    assert code == 0
    assert "final test accuracy" in capsys.readouterr().out
    saved = json.loads(path.read_text())
    assert saved["model"] == "resnet20" and saved["args"]["epochs"] == 1
    assert set(saved["epochs"][0]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}


@pytest.mark.parametrize("argv,message", [
    (["train", "resnet21"], "unknown model 'resnet21'; did you mean"),
    (["train", "resnet20", "--epochs", "-1"], "argument --epochs: must be a whole number >= 0, got '-1'"),
    (["train", "resnet20", "--seed", "-1"], "argument --seed: must be a whole number >= 0, got '-1'"),
    (["train", "resnet20", "--warmup-epochs", "nan"], "--warmup-epochs: must be a finite number >= 0, got 'nan'"),
    (["train", "resnet20", "--warmup-epochs", "inf"], "--warmup-epochs: must be a finite number >= 0, got 'inf'"),
    (["train", "resnet20", "--lr", "0.1x"], "argument --lr: expected a number >= 0, got '0.1x'"),
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


def test_missing_folders_are_created_for_checkpoint_and_history(tmp_path, capsys, tiny_cifar_folder):
    data = tiny_cifar_folder
    checkpoint, history = tmp_path / "runs" / "a" / "c.npz", tmp_path / "logs" / "h.json"
    assert main(["train", "resnet20", "--epochs", "1", "--batch-size", "40", "--no-progress", "--data", str(data),
                 "--checkpoint", str(checkpoint), "--history", str(history)]) == 0
    assert checkpoint.is_file() and history.is_file()


def _train_argv(data, *extra):
    """A 1-epoch resnet20 run on the tiny folder: 2 steps of 40 images."""
    return ["train", "resnet20", "--epochs", "1", "--batch-size", "40", "--no-progress", "--data", str(data),
            *map(str, extra)]


def test_a_divergence_in_the_last_step_exits_1_and_writes_nothing(tmp_path, tiny_cifar_folder):
    data = tiny_cifar_folder
    checkpoint, history = tmp_path / "c.npz", tmp_path / "h.json"
    code, out, err = _cli(*_train_argv(data, "--lr", "1e6", "--checkpoint", checkpoint, "--history", history))
    assert code == 1 and "final" not in out
    line = err.strip().splitlines()[-1]  # after the line naming the data
    assert line.startswith("python -m minidl: error: train: the ") and "became NaN or infinite" in line
    assert line.endswith(f"(lr 1e+06, momentum 0.9); lower the learning rate, or add warm-up (warmup_epochs); "
                         f"no epoch was saved to {checkpoint}")
    assert "Traceback" not in err and "RuntimeWarning" not in err
    assert not checkpoint.exists() and not history.exists()


def test_resume_from_another_models_checkpoint_exits_1_naming_both(tmp_path, tiny_cifar_folder):
    data = tiny_cifar_folder
    checkpoint = tmp_path / "c.npz"
    assert main(_train_argv(data, "--checkpoint", checkpoint)) == 0
    before = checkpoint.read_bytes()
    for other in ("plain20", "resnet32"):
        code, out, err = _cli("train", other, "--epochs", "1", "--no-progress", "--data", data, "--checkpoint",
                              checkpoint, "--resume")
        assert code == 1 and "final" not in out
        assert err.strip().splitlines()[-1] == (
            f"python -m minidl: error: resume: {checkpoint} was made by resnet20, not {other}; resume with "
            f"resnet20, or give {other} another checkpoint path to start a new run")
    assert checkpoint.read_bytes() == before


def _failure(capsys, argv):
    """Run main(argv) in this process: (exit code, the one error line)."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("minidl.data:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


def test_a_full_disk_is_one_line_naming_the_checkpoint_not_its_temporary_file(tmp_path, capsys, monkeypatch,
                                                                             tiny_cifar_folder):
    data = tiny_cifar_folder
    checkpoint = tmp_path / "c.npz"

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full)
    code, line = _failure(capsys, _train_argv(data, "--checkpoint", checkpoint))
    assert code == 1
    assert line == (f"python -m minidl: error: {checkpoint}: No space left on device; free some disk space or "
                    "choose another path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-batches-py"]  # no .part file left


def test_download_without_a_network_is_one_line_saying_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(minidl.data.download, "URL", (tmp_path / "offline.tar.gz").as_uri())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MINIDL_DATA", raising=False)
    code, line = _failure(capsys, ["train", "resnet20", "--download", "--epochs", "1"])
    assert code == 1
    assert line.startswith(f"python -m minidl: error: cannot download {(tmp_path / 'offline.tar.gz').as_uri()} (")
    assert line.endswith("check the network connection, or put CIFAR-10's cifar-10-batches-py/ folder somewhere "
                         "and point to it with --data (data=... in Python) or MINIDL_DATA")


@pytest.mark.parametrize("error,expected", [
    (MemoryError(), "out of memory; try a smaller --batch-size or --subset, or a machine with more memory"),
    (RecursionError("too deep"), "a structure nested too deeply to handle (too deep); is the input file crafted "
                                 "or damaged?"),
    (KeyError("x"), "unexpected KeyError: 'x' (run again with --debug for the traceback, and please report it)"),
])
def test_unexpected_failures_are_still_one_line(capsys, monkeypatch, error, expected):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(minidl.models, "create", fail)
    code, line = _failure(capsys, ["train", "resnet20", "--epochs", "1", "--subset", "10"])
    assert (code, line) == (1, f"python -m minidl: error: {expected}")


@pytest.mark.parametrize("how", [["--debug"], []])
def test_debug_shows_the_traceback(tmp_path, how):
    env = dict(os.environ, **({} if how else {"MINIDL_DEBUG": "1"}))
    code, _, err = _cli("train", "resnet20", "--history", tmp_path, *how, env=env)
    assert code == 1
    assert "Traceback (most recent call last)" in err and "ValueError: --history" in err


def test_ctrl_c_exits_130_after_saving_without_a_final_line(tmp_path, capsys, monkeypatch, tiny_cifar_folder):
    from minidl.training import loop
    data = tiny_cifar_folder
    checkpoint, history = tmp_path / "c.npz", tmp_path / "h.json"
    train_one_epoch, calls = loop._train_one_epoch, []

    def ctrl_c_in_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return train_one_epoch(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_one_epoch", ctrl_c_in_epoch_2)
    code = main(_train_argv(data, "--epochs", "2", "--checkpoint", checkpoint, "--history", history))
    out, err = capsys.readouterr()
    assert code == 130 and "final" not in out
    assert err.strip().splitlines()[-1] == f"train: interrupted during epoch 2; {checkpoint} keeps epoch 1, the last " \
                                           "complete one"
    assert minidl.load(checkpoint)["epoch"] == 1
    assert [r["epoch"] for r in json.loads(history.read_text())["epochs"]] == [1]  # the finished epoch is kept


def test_ctrl_c_before_training_exits_130_too(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(minidl.data, "cifar10", interrupted)
    assert main(["train", "resnet20", "--epochs", "1"]) == 130
    assert capsys.readouterr().err == "python -m minidl: interrupted\n"


def test_a_bad_thread_count_is_one_line(tmp_path):
    code, _, err = _cli("train", "resnet20", "--epochs", "1", "--subset", "10",
                        env=dict(os.environ, MINIDL_NUM_THREADS="abc"))
    assert code == 1
    assert _one_line(err).startswith("python -m minidl: error: MINIDL_NUM_THREADS='abc': expected a whole number of "
                                     "threads >= 1")


def _deeply_nested(path):
    text = '{"format": "minidl.save", "version": 1, "root": ' + "[" * 10_000 + "]" * 10_000 + "}"
    with zipfile.ZipFile(path, "w") as archive, archive.open("__minidl__.npy", "w") as member:
        np.lib.format.write_array(member, np.array(text))


def _claims_8_tb(path):
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__minidl__.npy", "w") as member:
            np.lib.format.write_array(member, np.array('{"format": "minidl.save", "version": 1, "root": '
                                                       '{"type": "array", "entry": "w"}}'))
        with archive.open("w.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (10 ** 12,)})


@pytest.mark.parametrize("write,reason", [
    (lambda p: p.write_text('{"epochs": []}'), "it is a JSON text file, such as a history, not an .npz archive"),
    (_deeply_nested, "its structure nests 10001 levels deep, more than the 100 allowed"),
    (_claims_8_tb, "its entry 'w' claims shape (1000000000000,) of float64 (8.0 TB) but holds 0 bytes"),
])
def test_resume_from_a_foreign_or_crafted_file_is_one_line(tmp_path, capsys, write, reason, tiny_cifar_folder):
    data, checkpoint = tiny_cifar_folder, tmp_path / "c.npz"
    write(checkpoint)
    before = checkpoint.read_bytes()
    code, line = _failure(capsys, _train_argv(data, "--checkpoint", checkpoint, "--resume"))
    assert code == 1
    assert line == f"python -m minidl: error: minidl.load: {checkpoint} is not a readable minidl.save file ({reason})"
    assert checkpoint.read_bytes() == before


def test_a_run_that_diverges_in_epoch_2_keeps_epoch_1_in_checkpoint_and_history(tmp_path, capsys, monkeypatch,
                                                                               tiny_cifar_folder):
    real_step, steps = minidl.optim.SGD.step, []

    def step_then_poison(self):  # the last step of epoch 2 leaves a NaN weight (its loss was finite)
        real_step(self)
        steps.append(1)
        if len(steps) == 4:
            self.param_groups[0]["params"][0].data[0] = np.nan

    monkeypatch.setattr(minidl.optim.SGD, "step", step_then_poison)
    checkpoint, history = tmp_path / "c.npz", tmp_path / "h.json"
    code, line = _failure(capsys, _train_argv(tiny_cifar_folder, "--epochs", "2", "--checkpoint", checkpoint,
                                              "--history", history))
    assert code == 1
    assert line.startswith("python -m minidl: error: train: the weights became NaN or infinite at epoch 2, step 2 "
                           "(the epoch's last; first in stem.0.weight)")
    assert line.endswith(f"{checkpoint} keeps epoch 1, the last finite one")
    assert minidl.load(checkpoint)["epoch"] == 1
    assert [r["epoch"] for r in json.loads(history.read_text())["epochs"]] == [1]
