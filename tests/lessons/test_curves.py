"""A chapter's own short run is drawn over the reference suite's curves: labelled with its own scale, at the SGD
steps where its epochs end (chapters 3, 4 and 7), or as open markers on the accuracy-per-parameter curves (6)."""
from types import SimpleNamespace

import numpy as np
import pytest

READER_DATA = (np.zeros((1200, 3, 8, 8), np.float32), np.zeros(1200, np.int64), None, None)  # 10 steps of 128


@pytest.fixture
def drawn(suite, monkeypatch):
    """{figure name: {label: x data}} of every line and scatter the chapters' figures would save."""
    import _lesson
    figures = {}

    def keep(self, fig, name):
        lines = {line.get_label(): list(line.get_xdata()) for ax in fig.axes for line in ax.get_lines()}
        points = {c.get_label(): list(c.get_offsets()[:, 0]) for ax in fig.axes for c in ax.collections}
        figures[name] = {**lines, **points}
        self.pyplot().close(fig)
    monkeypatch.setattr(_lesson.Lesson, "figure", keep)
    return figures


def lesson(number, tmp_path):
    import _lesson
    return _lesson.Lesson(number, "test", argv=["--quick", "--out", str(tmp_path)])


def record(run, nets, seeds=(0, 1), **result):
    for net in nets:
        for seed in seeds:
            run.units[f"{net}/seed{seed}"] = {"provenance": {}, "result": {"train_error_curve": [0.9, 0.5], **result}}
    run.save()


def test_an_epoch_ends_after_its_batches_the_last_one_short(suite):
    import _curves
    assert list(_curves.epoch_ends([0.9, 0.8, 0.7], 5085, 128)) == [40, 80, 120]
    assert list(_curves.epoch_ends([0.9], 1200, 64)) == [19]


def test_chapter_3_draws_this_runs_nets_over_the_suites_seeds(suite, drawn, tmp_path):
    record(suite.depth_run(), ("plain20", "resnet20", "plain56", "resnet56"))
    import ch03_depth_and_degradation as ch03
    runs = {net: [{"train_error_curve": [0.9, 0.8, 0.7]}] for net in ("plain20", "plain56", "resnet20", "resnet56")}
    ch03.plot_recorded(lesson(3, tmp_path), (runs, READER_DATA))
    labels = drawn["degradation_32px.png"]
    assert labels["plain56, suite (2 seeds)"] == [40, 80]  # 5,085 images in batches of 128
    assert labels["plain56, this run (8x8, 1,200 images)"] == [10, 20, 30]
    assert "resnet20, this run (8x8, 1,200 images)" in labels
    ch03.plot_recorded(lesson(3, tmp_path))  # the suite alone (--reference mode)
    assert not any("this run" in label for label in drawn["degradation_32px.png"])


def test_chapter_4_draws_this_runs_plain_and_highway_nets_over_the_suites(suite, drawn, tmp_path):
    gates = np.full((27, 4), 0.01).tolist()
    record(suite.depth_run(), ("plain56",), train_error=0.6)
    record(suite.highway_run(), ("highway56",), train_error=0.4, gates_before=gates, gates_after=gates)
    import ch04_highway as ch04
    history = SimpleNamespace(column=lambda key: [0.1, 0.2, 0.3])
    first_seed = {label: SimpleNamespace(history=history) for label in ch04.run_labels(56, -6)}
    chapter = lesson(4, tmp_path)
    ch04.plot_recorded(chapter, ch04.recorded_highway(chapter), ({0: first_seed}, READER_DATA))
    labels = drawn["highway_32px.png"]
    assert labels["highway56, suite (2 seeds)"] == [40, 80]
    assert labels["highway56 (b_T=-6), this run (8x8, 1,200 images)"] == [10, 20, 30]
    assert "plain56, this run (8x8, 1,200 images)" in labels


def test_chapter_7_draws_this_runs_euler_and_rk4_over_the_suites(suite, drawn, tmp_path):
    record(suite.rk_run(), ("resnet26", "rk4_resnet26"), seeds=(0,), train_error=0.2, test_error=0.3)
    import ch07_runge_kutta as ch07
    yours = {"schemes": {s: {"train_error_curve": [[0.9, 0.6]]} for s in ("Euler", "RK4")}, "images": 5085, "size": 8}
    ch07.plot_recorded(lesson(7, tmp_path), yours)
    labels = drawn["rk_32px.png"]
    assert labels["rk4_resnet26 (RK4), suite (1 seed)"] == [40, 80]
    assert labels["RK4, this run (8x8, 5,085 images)"] == [80, 160]  # chapter 7 trains in batches of 64


def test_chapter_6_marks_this_runs_pair_on_the_accuracy_per_parameter_curves(suite, drawn, tmp_path):
    for net, params in (("resnet8", 75290), ("densenet_bc40", 176122)):
        record(suite.dense_run(), (net,), test_error=0.3, parameters=params)
    import ch06_dense as ch06
    yours = {"dense": "densenet13", "resnet": "resnet8", "setting": "8x8",
             "runs": {"densenet13": {"params": 76018, "test_acc": [40.0, 42.0]},
                      "resnet8": {"params": 75290, "test_acc": [41.0, 41.0]}}}
    ch06.plot_curves(lesson(6, tmp_path), yours)
    labels = drawn["accuracy_vs_parameters_32px.png"]
    assert labels["densenet13, this run (8x8)"] == [76018] and labels["resnet8, this run (8x8)"] == [75290]
