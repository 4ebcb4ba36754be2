"""Fault injection on real `python -m minidl train` processes: SIGKILL while a checkpoint is written, SIGTERM in the
middle of an epoch. Each leaves the last complete epoch's checkpoint intact, and `--resume` then ends with the
history of an uninterrupted run (the killed writer's temporary file is removed by the next save).

Fast enough for every run of the suite: resnet20 on 80 random images, two steps per epoch."""
import json
import os
import signal
import subprocess
import sys

import pytest

import minidl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# argv: fault, n, then the CLI's arguments. "kill-in-save n": SIGKILL after the fifth array of the n-th checkpoint
# is written; "SIGTERM n" or "SIGINT n" (Ctrl-C): that signal when training step n (counted over the run) starts.
FAULTY_RUN = """
import os, signal, sys
import numpy as np
import minidl
from minidl.cli import main
from minidl.training import loop
fault, n = sys.argv[1], int(sys.argv[2])
count = {"saves": 0, "arrays": 0, "steps": 0}
if fault == "kill-in-save":
    save, write = loop.save_checkpoint, np.lib.format.write_array
    def counted_save(*args, **kwargs):
        count["saves"] += 1
        return save(*args, **kwargs)
    def write_then_die(*args, **kwargs):
        write(*args, **kwargs)
        count["arrays"] += count["saves"] == n
        if count["arrays"] == 5:
            os.kill(os.getpid(), signal.SIGKILL)
    loop.save_checkpoint, np.lib.format.write_array = counted_save, write_then_die
else:
    step = minidl.seams.fast["train_step"]  # the step train() runs (minidl/fast.py)
    def step_or_term(*args, **kwargs):
        count["steps"] += 1
        if count["steps"] == n:
            os.kill(os.getpid(), getattr(signal, fault))
        return step(*args, **kwargs)
    minidl.seams.fast["train_step"] = step_or_term
sys.exit(main(sys.argv[3:]))
"""


def _as_in_a_terminal():
    """Let SIGINT interrupt the child as Ctrl-C does in a terminal: a shell starts background jobs (CI may run the
    suite as one) with SIGINT ignored, children inherit that, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train(data, *extra, fault=None):
    argv = ["train", "resnet20", "--epochs", "2", "--batch-size", "40", "--no-progress", "--data", str(data),
            *map(str, extra)]
    command = [sys.executable, "-c", FAULTY_RUN, *map(str, fault)] if fault else [sys.executable, "-m", "minidl"]
    return subprocess.run(command + argv, capture_output=True, text=True, cwd=ROOT, timeout=300,
                          preexec_fn=_as_in_a_terminal)


def _parts(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


def _resume_matches_an_uninterrupted_run(data, checkpoint, folder):
    resumed = _train(data, "--checkpoint", checkpoint, "--resume", "--history", folder / "resumed.json")
    assert resumed.returncode == 0, resumed.stderr
    assert "final test accuracy" in resumed.stdout and "after 2 epochs" in resumed.stdout
    full = _train(data, "--history", folder / "full.json")
    assert full.returncode == 0, full.stderr
    histories = [json.loads((folder / name).read_text())["epochs"] for name in ("resumed.json", "full.json")]
    assert len(histories[0]) == len(histories[1]) == 2
    for a, b in zip(*histories):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-7), key


def test_sigkill_while_saving_keeps_the_previous_checkpoint_and_resume_cleans_up(tmp_path, tiny_cifar_folder):
    checkpoint = tmp_path / "c.npz"
    killed = _train(tiny_cifar_folder, "--checkpoint", checkpoint, fault=("kill-in-save", 2))
    assert killed.returncode == -signal.SIGKILL
    assert minidl.load(checkpoint)["epoch"] == 1  # epoch 2's half-written file never replaced it
    left = _parts(tmp_path)
    assert len(left) == 1 and left[0].startswith(".c.npz.")  # what the killed writer left behind
    _resume_matches_an_uninterrupted_run(tiny_cifar_folder, checkpoint, tmp_path)
    assert _parts(tmp_path) == []  # removed by the next save to c.npz


def test_sigterm_mid_epoch_then_resume_gives_the_uninterrupted_history(tmp_path, tiny_cifar_folder):
    checkpoint = tmp_path / "c.npz"
    terminated = _train(tiny_cifar_folder, "--checkpoint", checkpoint, fault=("SIGTERM", 4))  # epoch 2, step 2
    assert terminated.returncode == -signal.SIGTERM
    assert minidl.load(checkpoint)["epoch"] == 1 and _parts(tmp_path) == []
    _resume_matches_an_uninterrupted_run(tiny_cifar_folder, checkpoint, tmp_path)


def test_ctrl_c_mid_epoch_exits_130_with_the_last_complete_epoch_saved(tmp_path, tiny_cifar_folder):
    checkpoint, history = tmp_path / "c.npz", tmp_path / "h.json"
    interrupted = _train(tiny_cifar_folder, "--checkpoint", checkpoint, "--history", history, fault=("SIGINT", 4))
    assert interrupted.returncode == 130 and "final" not in interrupted.stdout
    assert interrupted.stderr.strip().splitlines()[-1] == (f"train: interrupted during epoch 2; {checkpoint} keeps "
                                                           "epoch 1, the last complete one")
    assert minidl.load(checkpoint)["epoch"] == 1
    assert [r["epoch"] for r in json.loads(history.read_text())["epochs"]] == [1]
