"""lessons/README.md's status line of the reference suite counts the units that lessons/reference/ holds, so the
table under it cannot silently fall behind the recorded runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_status_line_counts_the_recorded_units(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "lessons"))
    import _suite
    import reference_suite
    recorded = total = 0
    for open_run, _, nets in reference_suite.runs().values():
        run, names = open_run(), _suite.units(nets)
        total += len(names)
        recorded += sum(run.done(unit) for unit in names)
    status = re.search(r"Status \d{4}-\d\d-\d\d: (\d+) of the suite's (\d+) units are recorded",
                       (ROOT / "lessons" / "README.md").read_text())
    assert status, "lessons/README.md lost its line 'Status <date>: N of the suite's M units are recorded'"
    assert (int(status[1]), int(status[2])) == (recorded, total), \
        f"lessons/README.md says {status[1]} of {status[2]} units; lessons/reference/ holds {recorded} of {total}"
