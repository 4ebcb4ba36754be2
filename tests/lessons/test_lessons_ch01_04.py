"""Chapters 1-4 run alone in --quick mode, print their tables and conclusions, and save their figures."""
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None

CHAPTERS = {
    "ch01_autograd.py": (
        ["Chapter 1: Autograd from scratch  [quick mode",
         "   z              Add    tmp, b       -3",    # the hand-traced graph
         "Autograd agrees with the hand derivation",
         "conv2d 3x3 s1 p1 (Winograd)", "batch_norm (train: batch stats)", "dropout (fixed mask)",
         "All 75 checks pass",
         "sigmoid with backward s instead of s(1-s)",    # the deliberate bug is caught ...
         "WRONG         NO",
         "here the smallest error came at eps"],
        ["gradcheck_per_op.png", "gradcheck_step_size.png"]),
    "ch02_cnn_building_blocks.py": (
        ["conv2d(image, kernel)", "batch_norm (training)", "max_pool2d 2x2", "cat (channels)", "fast: Winograd",
         "Every forward value and gradient above matches its definition",
         "epoch  train loss  train acc %  test loss  test acc %",
         "standard errors above chance", "quick mode: 512 images and two epochs"],
        ["small_cnn_history.png", "small_cnn_filters.png"]),
    "ch03_depth_and_degradation.py": (
        ["|dL/dW| first conv", " plain56     55", "resnet56     55",
         "Training error during each epoch", "final training error %",
         "far too few to show degradation reliably"],
        ["gradient_norms_at_init.png", "training_error.png"]),
    "ch04_highway.py": (
        ["gate bias b_T     mean T  mean C = 1-T", "Gradient check of a float64 highway unit",
         "highway56 at initialisation (27 highway units)", "plain56           -  (T = 1)",
         "highway56 (b_T=-6) train err %", "too few to compare the nets", "Transform-gate activity",
         "Verdicts of chapter 4 (quick mode)", "gates learn to open or close per layer, highway56 (b_T=-6)"],
        ["highway_gates_and_training.png"]),
}


@pytest.mark.parametrize("script", sorted(CHAPTERS))
def test_chapter_runs_quick_and_prints_its_tables(script, tmp_path, check_verdicts):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "lessons", script), "--quick", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines, figures = CHAPTERS[script]
    for line in lines:
        assert line in result.stdout, f"{script}: expected {line!r} in its output:\n{result.stdout[-3000:]}"
    if HAVE_MATPLOTLIB:
        for name in figures:
            path = tmp_path / name
            assert path.is_file() and path.stat().st_size > 10_000, f"{script}: figure {name} missing or empty"
            assert f"figure: {path}" in result.stdout
    else:
        assert "figures are skipped" in result.stdout
    assert f"outputs in {tmp_path}" in result.stdout
    check_verdicts(tmp_path, result.stdout)


def test_without_matplotlib_a_chapter_prints_its_tables_and_skips_figures(tmp_path):
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, os.path.join(ROOT, "lessons", "ch01_autograd.py"), "--quick", "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "figures are skipped" in result.stdout and "All 75 checks pass" in result.stdout
    assert not list(out.glob("*.png"))

