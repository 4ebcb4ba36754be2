"""What every chapter's --quick run must leave behind (out/chNN/verdicts.json with the issue's schema, and the
same verdicts printed), and the reference suite shrunk to tiny nets and data writing into a temporary folder."""
import json
from pathlib import Path

import numpy as np
import pytest

import minidl

ROOT = Path(__file__).resolve().parents[2]
VERDICT_KEYS = {"claim", "measure", "value", "ci95", "n", "budget", "verdict", "reference", "scale"}
SCALE_KEYS = {"image_size", "train_images", "epochs", "seeds"}


@pytest.fixture
def check_verdicts():
    def check(out, stdout):
        path = Path(out) / "verdicts.json"
        assert path.is_file(), f"no verdicts.json in {out}"
        rows = json.loads(path.read_text())
        assert rows and all(set(r) - {"seeds_to_settle"} == VERDICT_KEYS for r in rows)
        for r in rows:
            assert r["verdict"] in ("shown", "not shown at this budget", "contradicted", "confounded")
            assert r["scale"] is None or set(r["scale"]) == SCALE_KEYS
            assert r["ci95"] is not None or r["scale"] is None or r["n"] == 1
            assert r["ci95"] is None or (len(r["ci95"]) == 2 and r["ci95"][0] <= r["ci95"][1])
            assert r["n"] >= 1 and r["budget"] and r["measure"]
            assert r["reference"] is None or (ROOT / r["reference"]).is_file(), r["reference"]
            assert f"[{r['verdict']}] {r['claim']}" in stdout
    return check


@pytest.fixture
def suite(monkeypatch, tmp_path):
    """lessons/_suite.py with one-epoch units of 8-layer nets on 64 random 8x8 images, recording into tmp_path."""
    monkeypatch.syspath_prepend(str(ROOT / "lessons"))
    import _reference
    import _suite
    monkeypatch.setattr(_reference, "FOLDER", str(tmp_path))
    monkeypatch.setitem(_suite.RECIPE, "epochs", 1)
    monkeypatch.setattr(_suite, "LANDSCAPE", dict(images=16, points=3, extent=1.0))
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((64, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, 64),
            rng.standard_normal((32, 3, 8, 8)).astype(np.float32), rng.integers(0, 10, 32))
    monkeypatch.setattr(_suite, "cifar10_32px", lambda: data)
    monkeypatch.setattr(_suite, "DEPTH_NETS", ("plain8", "resnet8"))
    monkeypatch.setattr(minidl.models, "create", lambda name, **kwargs: minidl.models.resnet.resnet(
        8, shortcut=None if name.startswith("plain") else "A"))
    return _suite
