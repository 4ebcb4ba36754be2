"""The reference suite: a unit trains one net with one seed and records what the chapters compare; the runner
resumes at the first missing unit and stops starting units when its time is up."""
import numpy as np
import pytest

import minidl


def test_a_unit_records_curves_errors_and_the_landscape(suite):
    data = suite.cifar10_32px()
    result = suite.train_unit("plain8", 0, data)
    assert len(result["train_error_curve"]) == len(result["test_error_curve"]) == 1
    assert 0 <= result["train_error"] <= 1 and 0 <= result["test_error"] <= 1
    assert np.array(result["landscape"]["surface"]).shape == (3, 3)
    assert np.isfinite(result["landscape"]["surface"]).all()


def test_plain_and_residual_units_of_one_seed_start_from_the_same_weights(suite):
    """Pairing: with option-A shortcuts both nets have the same parameters, drawn from the same seed."""
    weights = []
    for name in ("plain8", "resnet8"):
        minidl.manual_seed(3)
        weights.append([p.data.copy() for p in minidl.models.create(name).parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_the_runner_resumes_at_the_first_missing_unit_and_respects_its_deadline(suite, monkeypatch, capsys):
    monkeypatch.setattr(suite, "SEEDS", (0, 1))
    run = suite.run_depth(deadline=None)
    assert sorted(run.units) == ["plain8/seed0", "plain8/seed1", "resnet8/seed0", "resnet8/seed1"]
    trained = []
    monkeypatch.setattr(suite, "train_unit", lambda *a, **k: trained.append(a) or {})
    suite.run_depth()
    assert trained == []  # everything recorded: nothing runs again
    del run.units["resnet8/seed1"]
    run.save()
    suite.run_depth(deadline=0.0)  # time is up before the missing unit starts
    assert trained == [] and "time is up" in capsys.readouterr().out
    first, second = suite.paired(suite.depth_run(), "plain8", "resnet8")
    assert len(first) == len(second) == 1  # only seed 0 has both units


def _record(suite, errors, surface_of):
    """A depth run whose units hold the given final training errors {net: [per seed]} and landscapes."""
    run = suite.depth_run()
    grid = np.linspace(-1, 1, 11)
    for net, per_seed in errors.items():
        for seed, error in enumerate(per_seed):
            run.units[f"{net}/seed{seed}"] = {"provenance": {"wall_seconds": 1.0}, "result": {
                "train_error": error, "test_error": error, "train_error_curve": [0.9, error],
                "landscape": {"grid": grid.tolist(), "surface": surface_of(net, grid).tolist()}}}
    run.save()


def _bowl(net, grid):
    a, b = np.meshgrid(grid, grid)
    bumps = 0.3 * np.sin(9 * a) * np.sin(9 * b) if net.startswith("plain") else 0
    return 1 + a ** 2 + b ** 2 + bumps


@pytest.mark.parametrize("plain56, verdict", [((0.50, 0.52, 0.48, 0.55, 0.51), "shown"),
                                              ((0.89, 0.90, 0.90, 0.91, 0.90), "confounded")])
def test_chapters_3_and_8_judge_the_recorded_units(suite, tmp_path, monkeypatch, plain56, verdict):
    monkeypatch.setattr(suite, "DEPTH_NETS", ("plain20", "resnet20", "plain56", "resnet56"))
    _record(suite, {"plain20": (0.40, 0.41, 0.39, 0.42, 0.40), "resnet20": (0.35, 0.36, 0.34, 0.35, 0.36),
                    "plain56": plain56, "resnet56": (0.30, 0.32, 0.31, 0.30, 0.29)}, _bowl)
    import _lesson
    import ch03_depth_and_degradation as ch03
    import ch08_loss_landscape as ch08
    rows = {}
    for number, judge in ((3, lambda lesson: ch03.recorded_verdicts(lesson) or ch03.plot_recorded(lesson)),
                          (8, lambda lesson: ch08.plot_recorded(lesson, ch08.recorded_landscapes(lesson)))):
        lesson = _lesson.Lesson(number, "test", argv=["--quick", "--out", str(tmp_path / f"ch{number}")])
        judge(lesson)
        rows.update({r["claim"]: r for r in lesson.verdicts.rows})
    plain = next(r for c, r in rows.items() if c.startswith("deeper plain"))
    residual = next(r for c, r in rows.items() if c.startswith("deeper residual"))
    landscape56 = next(r for c, r in rows.items() if "smooth" in c and "depth 56" in c)
    assert plain["verdict"] == verdict and landscape56["verdict"] == verdict
    assert residual["verdict"] == "shown"  # resnet56 below resnet20 + 1 on every seed
    assert plain["scale"] == {"image_size": 32, "train_images": 5085, "epochs": 1, "seeds": 5}
    assert plain["reference"] == "lessons/reference/depth_32px.json"
    assert (tmp_path / "ch3" / "degradation_32px.png").is_file() and (tmp_path / "ch8" / "landscape_2d_32px.png").is_file()


def test_chapter_7_judges_the_recorded_rk_units(suite, tmp_path):
    run = suite.rk_run()
    for seed in range(5):
        for net, error in (("resnet26", 0.32 + 0.01 * seed), ("rk4_resnet26", 0.30 + 0.01 * seed)):
            run.units[f"{net}/seed{seed}"] = {"provenance": {"wall_seconds": 1.0},
                                              "result": {"train_error": error, "test_error": error}}
    run.save()
    import _lesson
    import ch07_runge_kutta as ch07
    lesson = _lesson.Lesson(7, "test", argv=["--quick", "--out", str(tmp_path)])
    ch07.recorded_rk(lesson)
    (row,) = lesson.verdicts.rows
    assert row["verdict"] == "shown" and row["value"] == pytest.approx(2.0) and row["n"] == 5
    assert row["reference"] == "lessons/reference/rk_32px.json"


def test_chapter_4_judges_highway_against_the_depth_runs_plain56_and_reads_the_gates(suite, tmp_path):
    depth, highway = suite.depth_run(), suite.highway_run()
    rng = np.random.default_rng(0)
    for seed in range(5):
        depth.units[f"plain56/seed{seed}"] = {"provenance": {}, "result": {
            "train_error": 0.6 + 0.01 * seed, "train_error_curve": [0.9, 0.6]}}
        before = np.full((27, 16), 0.0025)
        opened = before * np.exp(rng.uniform(0, 3, (27, 1)))  # each layer opens by its own amount
        opened[5] = 0.001                                     # and one layer closes
        highway.units[f"highway56/seed{seed}"] = {"provenance": {}, "result": {
            "train_error": 0.4 + 0.01 * seed, "train_error_curve": [0.9, 0.4],
            "gates_before": before.tolist(), "gates_after": opened.tolist()}}
    depth.save()
    highway.save()
    import _lesson
    import ch04_highway as ch04
    lesson = _lesson.Lesson(4, "test", argv=["--quick", "--out", str(tmp_path)])
    ch04.plot_recorded(lesson, ch04.recorded_highway(lesson))
    trains, differ = lesson.verdicts.rows
    assert trains["verdict"] == "shown" and trains["value"] == pytest.approx(20.0)
    assert differ["verdict"] == "shown" and differ["value"] > ch04.GATES_DIFFER
    assert (tmp_path / "highway_32px.png").is_file()


def test_readings_find_a_highway_nets_gates_and_a_densenets_reuse_maps(suite):
    from minidl.models.densenet import densenet
    from minidl.models.highway import highway
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)
    gated = highway(8)
    state = {k: v.data.copy() for k, v in gated.state_dict().items()}
    gates = suite.readings(gated, x)["gates"]
    assert len(gates) == 3 and all(0 < t < 1 for layer in gates for t in layer)
    for key, value in gated.state_dict().items():  # read on a copy: BN's running statistics are untouched
        np.testing.assert_array_equal(value.data, state[key])
    maps = suite.readings(densenet(10, 4, bottleneck=True, compression=0.5), x)["feature_reuse"]
    assert len(maps) == 3 and maps[0][0][1] is None  # a layer cannot read a later one: None, not NaN, in JSON
    assert suite.readings(suite.minidl.models.resnet.resnet(8), x) == {}


def test_chapter_6_judges_the_recorded_densenet_and_resnet_units(suite, tmp_path):
    from minidl.models.densenet import densenet
    dense, depth = suite.dense_run(), suite.depth_run()
    model = densenet(16, 4, bottleneck=True, compression=0.5)
    initial = suite.readings(model, np.zeros((2, 3, 8, 8), np.float32))["feature_reuse"]
    rng = np.random.default_rng(0)
    trained = [[[None if v is None else v * (3.0 if j == 0 else 1.0) * rng.uniform(0.9, 1.1) for j, v in enumerate(row)]
                for row in block] for block in initial]  # training moved the weight onto the block input
    for seed in range(5):
        for net, error, params in (("resnet8", 0.45, 75290), ("resnet14", 0.40, 172506),
                                   ("densenet_bc28", 0.38, 102730), ("densenet_bc40", 0.35, 176122)):
            dense.units[f"{net}/seed{seed}"] = {"provenance": {}, "result": {
                "train_error": error - 0.1, "test_error": error + 0.002 * seed, "parameters": params, "seconds": 1.0,
                "feature_reuse_before": initial, "feature_reuse_after": trained}}
        depth.units[f"resnet20/seed{seed}"] = {"provenance": {}, "result": {"test_error": 0.33, "parameters": 269722}}
    dense.save()
    depth.save()
    import _lesson
    import ch06_dense as ch06
    lesson = _lesson.Lesson(6, "test", argv=["--quick", "--out", str(tmp_path)])
    ch06.recorded_dense(lesson)
    ch06.plot_curves(lesson)
    accuracy, reshaped, reuse = lesson.verdicts.rows
    assert accuracy["verdict"] == "shown" and accuracy["value"] == pytest.approx(5.0)
    assert reshaped["verdict"] == "shown" and accuracy["scale"]["image_size"] == 32
    assert (tmp_path / "accuracy_vs_parameters_32px.png").is_file() and (tmp_path / "feature_reuse_32px.png").is_file()


@pytest.mark.gpu
def test_a_unit_trains_and_reads_a_highway_net_on_the_gpu(suite, monkeypatch):
    from minidl.models.highway import highway
    monkeypatch.setattr(minidl.models, "create", lambda name, **kwargs: highway(8))
    result = suite.train_unit("highway8", 0, suite.cifar10_32px(), device="cuda")
    assert len(result["gates_before"]) == len(result["gates_after"]) == 3  # one highway unit per stage
    assert np.isfinite(result["landscape"]["surface"]).all()


def test_the_suite_command_runs_only_the_runs_named_by_run(suite, monkeypatch, capsys):
    """Two processes can share the suite when each runs its own runs (each run has its own file)."""
    import reference_suite
    started = []
    names = list(reference_suite.runs())
    monkeypatch.setattr(reference_suite, "runs", lambda: {name: (None, lambda device, deadline, name=name:
                                                                 started.append(name), ()) for name in names})
    monkeypatch.setattr(reference_suite, "status", lambda: None)
    assert reference_suite.main(["--run", suite.RK_RUN, "--run", suite.DENSE_RUN]) == 0
    assert started == [suite.RK_RUN, suite.DENSE_RUN]
    started.clear()
    assert reference_suite.main([]) == 0
    assert started == [suite.DEPTH_RUN, suite.RK_RUN, suite.HIGHWAY_RUN, suite.DENSE_RUN]
    with pytest.raises(SystemExit):
        reference_suite.main(["--run", "no_such_run"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_second_process_on_the_same_run_skips_it_instead_of_overwriting_the_first(suite, monkeypatch, capsys):
    """flock locks of two open files conflict even within one process: the second claim stands for a second
    process started on the same run."""
    import _workers
    first = suite.depth_run()
    assert first.claim()
    trained = []
    monkeypatch.setattr(suite, "train_unit", lambda *a, **k: trained.append(a) or {})
    suite.run_depth()
    assert trained == [] and "another process is running this run" in capsys.readouterr().out
    assert _workers.run_parallel([(suite.depth_run(), suite.DEPTH_NETS)], jobs=2) == 0
    assert "another process is running this run" in capsys.readouterr().out and suite.depth_run().units == {}
    del first  # the first process ends: its lock goes with it
    assert suite.depth_run().claim()


def test_status_says_what_is_missing_how_long_it_takes_and_whether_a_process_trains_it(suite, monkeypatch, capsys):
    import reference_suite
    run = suite.depth_run()
    for unit, wall in (("plain8/seed0", 1200.0), ("plain8/seed1", 2400.0), ("resnet8/seed0", 450.0)):
        run.units[unit] = {"provenance": {"wall_seconds": wall}, "result": {}}
    run.save()
    dense = suite.dense_run()
    dense.units["resnet8/seed0"] = {"provenance": {"wall_seconds": 900.0}, "result": {}}
    dense.save()
    monkeypatch.setattr(reference_suite, "runs", lambda: {
        suite.DEPTH_RUN: (suite.depth_run, None, ("plain8", "resnet8")),
        suite.HIGHWAY_RUN: (suite.highway_run, None, ("highway8",)),
        suite.DENSE_RUN: (suite.dense_run, None, ("resnet8", "dense8"))})
    reference_suite.status()
    depth, highway, dense = capsys.readouterr().out.splitlines()
    # 3 plain8 units at the median 1,800 s and 4 resnet8 units at 450 s: 2.0 h
    assert "3 of 10 units recorded" in depth and "next: resnet8/seed1" in depth
    assert "the 7 missing take about 2.0 h" in depth and "training it now" not in depth
    assert "0 of 5" in highway and "no unit of highway8 is recorded yet" in highway
    assert "the 9 missing take about 1.0 h at the recorded units' times, plus the units of dense8" in dense
    other = suite.depth_run()
    assert other.claim()  # another process trains the depth run
    reference_suite.status()
    depth, highway, _ = capsys.readouterr().out.splitlines()
    assert depth.endswith("a process is training it now") and "training it now" not in highway
    other.release()
