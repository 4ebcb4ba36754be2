"""docs/reading.md stays true: every file it lists exists with (about) the line count it gives, the core path's
total is the sum of its rows, and the README quotes that total."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "reading.md")
SLACK = 5  # lines a file may drift before the guide must be updated
ROW = re.compile(r"^\| `([^`]+)` \| (\d[\d,]*) \|", re.MULTILINE)


def _section(text, title):
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def _lines(path):
    with open(os.path.join(ROOT, path)) as f:
        return len(f.read().splitlines())


def _rows(section):
    return [(path, int(count.replace(",", ""))) for path, count in ROW.findall(section)]


def test_every_listed_file_has_the_line_count_the_guide_gives():
    with open(GUIDE) as f:
        text = f.read()
    rows = _rows(_section(text, "The core path")) + _rows(_section(text, "The speed path"))
    assert len(rows) > 30
    missing = [path for path, _ in rows if not os.path.exists(os.path.join(ROOT, path))]
    assert not missing, f"docs/reading.md lists files that do not exist: {missing}"
    wrong = [f"| `{path}` | {_lines(path)} |  (the guide says {count})" for path, count in rows
             if abs(_lines(path) - count) > SLACK]
    assert not wrong, "update these rows of docs/reading.md (and the totals):\n" + "\n".join(wrong)


def test_the_core_total_is_the_sum_of_its_rows_and_the_readme_quotes_it():
    with open(GUIDE) as f:
        text = f.read()
    rows = _rows(_section(text, "The core path"))
    stated = re.search(r"\*\*Core path: ([\d,]+) lines in (\d+) files\.\*\*", text)
    assert stated, "docs/reading.md must state '**Core path: N lines in M files.**'"
    total, files = int(stated.group(1).replace(",", "")), int(stated.group(2))
    assert (total, files) == (sum(c for _, c in rows), len(rows)), \
        f"the core rows add up to {sum(c for _, c in rows):,} lines in {len(rows)} files"
    actual = sum(_lines(path) for path, _ in rows)
    assert abs(actual - total) <= SLACK * len(rows) / 4, \
        f"the core files now have {actual:,} lines, the guide says {total:,}"
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    assert "docs/reading.md" in readme and f"{total:,} lines" in readme, \
        f"README.md must link docs/reading.md and quote the core path's {total:,} lines"
