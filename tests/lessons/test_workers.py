"""`reference_suite.py --jobs N`: units trained in worker processes give the numbers they give alone, and only
the parent writes the files; a failed or killed unit is named and leaves the others recorded; the deadline holds."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def results(run):
    """Each unit's result without its timing."""
    return {unit: {k: v for k, v in entry["result"].items() if k != "seconds"} for unit, entry in run.units.items()}


def test_units_trained_two_at_a_time_equal_those_trained_one_after_another(suite, monkeypatch):
    import _workers
    monkeypatch.setattr(suite, "SEEDS", (0, 1))
    alone = results(suite.run_depth())
    os.remove(suite.depth_run().save())
    assert _workers.run_parallel([(suite.depth_run(), suite.DEPTH_NETS)], jobs=2) == 0
    run = suite.depth_run()
    assert results(run) == alone and len(alone) == 4
    assert all(entry["provenance"]["jobs"] == 2 for entry in run.units.values())
    assert all(entry["provenance"]["threads"] >= 1 for entry in run.units.values())


def test_a_failed_unit_is_named_and_the_others_are_recorded(suite, monkeypatch, capsys):
    import _workers
    train_unit = suite.train_unit

    def broken(net, seed, *args):
        if net == "resnet8":
            raise RuntimeError("out of memory")
        return train_unit(net, seed, *args)
    monkeypatch.setattr(suite, "SEEDS", (0,))
    monkeypatch.setattr(suite, "train_unit", broken)  # the forked workers see it too
    assert _workers.run_parallel([(suite.depth_run(), suite.DEPTH_NETS)], jobs=2) == 1
    assert list(suite.depth_run().units) == ["plain8/seed0"]
    assert "unit resnet8/seed0 failed (RuntimeError: out of memory)" in capsys.readouterr().out


def test_a_unit_whose_process_is_killed_is_named_and_the_others_are_recorded(suite, monkeypatch, capsys):
    """A worker killed without a word (as the system kills one when memory runs out) must not hang the suite."""
    import _workers
    train_unit = suite.train_unit

    def killed(net, seed, *args):
        if net == "resnet8":
            os.kill(os.getpid(), signal.SIGKILL)
        return train_unit(net, seed, *args)
    monkeypatch.setattr(suite, "SEEDS", (0,))
    monkeypatch.setattr(suite, "train_unit", killed)
    assert _workers.run_parallel([(suite.depth_run(), suite.DEPTH_NETS)], jobs=2) == 1
    assert list(suite.depth_run().units) == ["plain8/seed0"]
    assert ("unit resnet8/seed0 failed (its process was killed by SIGKILL; if the system ran out of memory, try "
            "fewer --jobs)") in capsys.readouterr().out


def test_no_unit_starts_after_the_deadline(suite, capsys):
    import _workers
    assert _workers.run_parallel([(suite.depth_run(), suite.DEPTH_NETS)], deadline=0.0, jobs=2) == 0
    assert suite.depth_run().units == {}
    assert "time is up: 10 unit(s) not started, the first plain8/seed0" in capsys.readouterr().out


def test_workers_fork_on_a_cpu_and_spawn_for_a_gpu(suite):
    import _workers
    assert _workers.context("cuda").get_start_method() == "spawn"
    if "fork" in __import__("multiprocessing").get_all_start_methods():
        assert _workers.context("cpu").get_start_method() == "fork"


def test_the_suite_command_says_why_jobs_is_refused(suite, capsys):
    import reference_suite
    with pytest.raises(SystemExit):
        reference_suite.main(["--jobs", "0"])
    assert "expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_the_suite_command_runs_its_units_in_workers_with_jobs(suite, monkeypatch):
    import reference_suite
    monkeypatch.setattr(suite, "SEEDS", (0,))
    assert reference_suite.main(["--jobs", "2", "--run", suite.RK_RUN]) == 0
    assert sorted(suite.rk_run().units) == ["resnet26/seed0", "rk4_resnet26/seed0"]
    assert suite.depth_run().units == {}


def test_a_spawned_worker_as_for_a_gpu_finds_the_lessons_modules(suite):
    """spawn starts a fresh interpreter that must import _workers (and through it _suite and minidl) by itself."""
    import _workers
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(1, mp_context=_workers.context("cuda")) as pool:
        assert pool.submit(_workers._start_worker, 3).result(timeout=120) is None


def _children(pid):
    """Pids of the live (not zombie) child processes of `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the worker processes through Linux's /proc")
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_stops_the_workers_in_one_line_and_exits_130(tmp_path, tiny_cifar_folder, signal_name):
    """A real `reference_suite.py --jobs 2` (a copy of the lessons, so that lessons/reference/ stays untouched)."""
    lessons = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons", lessons, ignore=shutil.ignore_patterns("reference", "out", "__pycache__"))
    env = dict(os.environ, MINIDL_DATA=str(tiny_cifar_folder), PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, str(lessons / "reference_suite.py"), "--jobs", "2", "--run", "rk_32px"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    started = time.time()
    while len(_children(child.pid)) < 2 and time.time() - started < 60:
        time.sleep(0.1)
    workers = _children(child.pid)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(1.0)  # inside their units by now
    child.send_signal(getattr(signal, signal_name))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        "reference_suite: stopped; the finished units are recorded and the unit(s) in progress are lost: run the "
        "command again to resume")
    deadline = time.time() + 10
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a worker outlived the suite"
    assert not (lessons / "reference" / "rk_32px.json.part").exists()
