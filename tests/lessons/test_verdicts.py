"""A chapter's verdicts follow the rule fixed before the run, keep the schema of verdicts.json, are written
atomically, and recorded runs carry their provenance unit by unit."""
import json
import os

import numpy as np
import pytest

from minidl.analysis import mean_interval, t_critical


@pytest.fixture
def helpers(monkeypatch):
    lessons = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lessons")
    monkeypatch.syspath_prepend(lessons)
    import _reference
    import _verdicts
    return _verdicts, _reference


def test_the_interval_decides_the_verdict(helpers):
    v = helpers[0].Verdicts()
    assert v.effect("a", "m", mean_interval([2.0, 3.0, 4.0]), "b")["verdict"] == "shown"
    assert v.effect("a", "m", mean_interval([-1.0, 3.0, 4.0]), "b")["verdict"] == "not shown at this budget"
    assert v.effect("a", "m", mean_interval([-2.0, -3.0, -4.0]), "b")["verdict"] == "contradicted"
    assert v.effect("a", "m", mean_interval([-2.0, -3.0, -4.0]), "b", below=0.0)["verdict"] == "shown"
    assert v.effect("a", "m", mean_interval([2.0, 3.0, 4.0]), "b", above=6.0)["verdict"] == "contradicted"
    assert v.effect("a", "m", mean_interval([9.0]), "b")["verdict"] == "not shown at this budget"  # n = 1
    assert v.exact("a", "m", 1e-9, True, "b", n=68)["verdict"] == "shown"
    assert v.exact("a", "m", 0.7, False, "b")["verdict"] == "contradicted"


def test_verdicts_json_has_the_schema_and_is_written_atomically(helpers, tmp_path):
    v = helpers[0].Verdicts()
    v.effect("deeper plain nets train worse", "training error plain56 - plain20 (points)",
             mean_interval([20.0, 25.0, 30.0]), "3 seeds x 80 steps", reference="lessons/reference/x.json")
    v.exact("gradients right", "worst error/max|grad|", 1.8e-9, True, "68 checks", n=68)
    path = v.save(str(tmp_path))
    rows = json.load(open(path))
    assert [sorted(r) for r in rows] == [sorted(["claim", "measure", "value", "ci95", "n", "budget", "verdict",
                                                 "reference", "scale"])] * 2
    assert rows[0]["value"] == 25.0 and rows[0]["n"] == 3 and rows[0]["ci95"][0] < 25 < rows[0]["ci95"][1]
    assert rows[1]["ci95"] is None and rows[1]["reference"] is None
    assert os.listdir(tmp_path) == ["verdicts.json"]
    with pytest.raises(ValueError, match="verdict: a measured value must be finite"):
        v.exact("x", "m", float("inf"), True, "b")


def test_a_side_that_never_left_chance_confounds_the_comparison(helpers):
    v = helpers[0].Verdicts()
    row = v.effect("a", "m", mean_interval([20.0, 25.0, 30.0]), "b", both_trained=False,
                   scale=helpers[0].scale(32, 5085, 30, 3))
    assert row["verdict"] == "confounded"
    assert row["scale"] == {"image_size": 32, "train_images": 5085, "epochs": 30, "seeds": 3}


def test_a_claim_not_shown_says_how_many_seeds_would_settle_it(helpers):
    verdicts, _ = helpers
    from minidl.analysis import mean_interval as interval
    row = verdicts.Verdicts().effect("a", "m", interval([1.0, 3.0, -0.5]), "b")
    assert row["verdict"] == "not shown at this budget"
    n = row["seeds_to_settle"]
    # with the run's mean and sd, n seeds give an interval that excludes 0, and n - 1 do not
    mean, sd = 3.5 / 3, float(np.std([1.0, 3.0, -0.5], ddof=1))
    assert t_critical(n - 1) * sd / np.sqrt(n) < mean <= t_critical(n - 2) * sd / np.sqrt(n - 1)
    assert verdicts.seeds_to_settle(interval([2.0, 2.0]), 2.0) is None  # the mean sits on the threshold


def test_a_recorded_run_writes_each_unit_at_once_and_resumes(helpers, tmp_path):
    _, reference = helpers
    calls = []

    def work(value):
        calls.append(value)
        return {"value": value}

    run = reference.RecordedRun("demo", {"epochs": 3, "nets": ("a", "b")}, folder=str(tmp_path))
    run.run("a/seed0", lambda: work(1), "cpu")
    again = reference.RecordedRun("demo", {"epochs": 3, "nets": ["a", "b"]}, folder=str(tmp_path))
    assert again.done("a/seed0") and again.result("a/seed0") == {"value": 1}
    assert again.run("a/seed0", lambda: work(2), "cpu") == {"value": 1} and calls == [1]  # skipped: already there
    provenance = again.units["a/seed0"]["provenance"]
    for key in ("command", "commit", "date", "machine", "threads", "device", "wall_seconds"):
        assert provenance[key] not in (None, ""), key
    assert provenance["threads"] >= 1 and provenance["wall_seconds"] >= 0
    assert reference.load("missing", folder=str(tmp_path)) is None
    changed = reference.RecordedRun("demo", {"epochs": 4, "nets": ["a", "b"]}, folder=str(tmp_path))
    assert not changed.done("a/seed0")  # another setting starts over
    assert os.listdir(tmp_path) == ["demo.json"]
