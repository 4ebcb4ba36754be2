"""Chapters 5-9 each run alone with --quick: they exit cleanly, print their tables and the facts they
measure, and save PNG figures (or say that figures are skipped when matplotlib is missing)."""
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# script: (lines its --quick output must contain, figures it must save)
EXPECTED = {
    "ch05_residual.py": (
        ["Chapter 5: Residual networks  [quick mode", "1. Three residual units", "   pre-activation ",
         "preact_resnet164_bottleneck     1703258", "2. Gradient norms at initialisation",
         "3. Shattered gradients", "plain+BN: white noise (|r| < 0.1) from depth 16",
         "resnet+BN minus plain+BN at depth 16", "Test accuracy after deleting one block", "cannot (shape)",
         "Per seed: mean drop", "barely trained", "mean path length                27",
         "share with 19..35 blocks             98.0%", "0.45%", "6. Singular values of the input-output Jacobian",
         "Verdicts of chapter 5 (quick mode):", "verdicts.json"],
        ["gradient_norms.png", "shattered_gradients.png", "lesion.png", "paths.png", "jacobian_spectra.png"]),
    "ch06_dense.py": (
        ["max |y[:, :16] - x| = 0.0", "densenet40   40  12          no      1   1,019,722       1,019,722",
         "769,162         769,162", "3. Accuracy per parameter, this run", "densenet13 k=12      76,018",
         "resnet8      75,290", "4. Feature reuse, this run", "Verdicts of chapter 6 (quick mode)",
         "DenseNet reuses early features", "too small for any accuracy conclusion"],
        ["params_vs_accuracy.png", "feature_reuse.png"]),
    "ch07_runge_kutta.py": (
        ["agree to the last bit (difference 0.0)", "1/6 1/3 1/3 1/6", "verner8",
         "Every fitted slope is within 0.5 of the method's order",
         "366,938 (identical across the schemes); initial weights identical for the same seed",
         "Verdicts of chapter 7 (quick mode)", "an RK block has its tableau's order", "5. RK4 factors",
         "far too small to compare the schemes"],
        ["ode_order.png", "rk_training.png"]),
    "ch08_loss_landscape.py": (
        ["1. Plain and residual nets of depth 14", "2. Shape of the landscape, depth 14", "non-convex |a|,|b|<=0.5",
         "too coarse to judge smoothness", "Verdicts of chapter 8 (quick mode)"],
        ["landscape_1d.png", "landscape_2d.png"]),
    "ch09_capstone.py": (
        ["Training history", "2. Confusion matrix on 1017 test images", "Per-class accuracy",
         "3. The most confident mistakes", "a smoke test, not a result"],
        ["training_curves.png", "confusion_matrix.png", "misclassified.png"]),
}


@dataclass
class Run:
    script: str
    out: Path
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def run(request, tmp_path_factory):
    """One --quick run of a chapter, shared by the tests below."""
    out = tmp_path_factory.mktemp(request.param.split("_")[0])
    done = subprocess.run([sys.executable, str(LESSONS / request.param), "--quick", "--out", str(out)],
                          cwd=LESSONS.parent, capture_output=True, text=True, timeout=600)
    return Run(request.param, out, done.returncode, done.stdout, done.stderr)


def test_exits_cleanly_and_says_where_its_outputs_are(run):
    assert run.returncode == 0, f"{run.script} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert f"outputs in {run.out}" in run.stdout


def test_prints_its_tables_and_measured_facts(run):
    missing = [line for line in EXPECTED[run.script][0] if line not in run.stdout]
    assert not missing, f"{run.script}: missing {missing} in its output:\n{run.stdout[-4000:]}"


def test_saves_its_figures_as_png(run):
    if importlib.util.find_spec("matplotlib") is None:
        assert "figures are skipped" in run.stdout
        assert not list(run.out.glob("*.png"))
        return
    for name in EXPECTED[run.script][1]:
        path = run.out / name
        assert path.is_file(), f"{run.script}: no figure {name} in {sorted(os.listdir(run.out))}"
        assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 10_000
        assert f"figure: {path}" in run.stdout


def test_writes_its_verdicts(run, check_verdicts):
    check_verdicts(run.out, run.stdout)
