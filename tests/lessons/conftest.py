"""What every chapter's --quick run must leave behind: out/chNN/verdicts.json with the issue's schema, and the
same verdicts printed."""
import json
from pathlib import Path

import pytest

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
