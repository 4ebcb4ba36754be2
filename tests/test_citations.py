"""Every citation resolves inside the repository: no pointers to notes outside it, every bracketed key is an
entry of docs/references.md, and every "Author et al. YEAR" names a paper that the bibliography lists."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIBLIOGRAPHY = os.path.join(ROOT, "docs", "references.md")
SCANNED = ("minidl", "lessons", "tools", "benchmarks", "tests", "docs")
# Built from pieces so that this file does not match itself.
FORBIDDEN = [re.compile(r"\b" + "REFER" + r"ENCE(\.md\b|\s+\d)"), re.compile(r"\b" + "DESIGN" + r"\.md\b"),
             re.compile("the " + "issue text", re.IGNORECASE)]
KEY = re.compile(r"(?<![\w\])}'\"])\[([a-z][a-z0-9]*\d{4}[a-z0-9]*)\]")
ANCHOR = re.compile(r'<a id="([a-z0-9]+)"></a>\n\*\*\[([a-z0-9]+)\]\*\* ([^*]*?)\((\d{4})\)')
SURNAME = r"[A-Z][a-zà-ÿ]+(?:-[A-Z][a-z]+)?"
AUTHOR_YEAR = [  # "He et al. 2016", "Glorot & Bengio 2010", "Veit, Wilber, Belongie 2016", "Li, Xu and Goldstein (2018"
    re.compile(rf"\b({SURNAME}) et al\.?,? \(?((?:19|20)\d\d)\b"),
    re.compile(rf"\b({SURNAME}) & ({SURNAME}),? \(?((?:19|20)\d\d)\b"),
    re.compile(rf"\b({SURNAME}(?:, {SURNAME})+(?:,? and {SURNAME})?),? \(?((?:19|20)\d\d)\b"),
]


def _files():
    paths = [os.path.join(ROOT, "README.md")]
    for top in SCANNED:
        for folder, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in ("out", "__pycache__", "zoo_runs")]
            paths += [os.path.join(folder, n) for n in names if n.endswith((".py", ".md"))]
    return [p for p in paths if os.path.abspath(p) != os.path.abspath(__file__)]


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _entries():
    """key -> (authors, year) of every entry of the bibliography."""
    text = _read(BIBLIOGRAPHY)
    found = {}
    for anchor, key, authors, year in ANCHOR.findall(text):
        assert anchor == key, f"docs/references.md: anchor {anchor!r} heads the entry [{key}]"
        assert key not in found, f"docs/references.md: [{key}] is defined twice"
        found[key] = (authors, year)
    return found


def _where(path, text, index):
    return f"{os.path.relpath(path, ROOT)}:{text.count(chr(10), 0, index) + 1}"


def test_the_bibliography_gives_every_entry_a_source_id():
    text = _read(BIBLIOGRAPHY)
    entries = _entries()
    assert len(entries) >= 30 and text.count("**[") == len(entries)
    blocks = re.split(r'\n(?=<a id="[a-z0-9]+"></a>\n\*\*\[)', text)[1:]
    for block in blocks:
        key = re.search(r"\*\*\[([a-z0-9]+)\]\*\*", block).group(1)
        if key.startswith("computed"):
            continue  # the project's own numbers: written out in the entry itself
        assert re.search(r"arXiv:\d{4}\.\d{4,5}|doi:10\.\d+/|\b[a-z0-9-]+(\.[a-z0-9-]+)+/[\w~.-]+", block), \
            f"[{key}] gives no arXiv id, DOI or address"


@pytest.mark.parametrize("pattern", FORBIDDEN, ids=["sheet", "design", "issue"])
def test_no_citation_points_outside_the_repository(pattern):
    hits = [f"{_where(path, text, m.start())}: {m.group(0)}"
            for path in _files() for text in [_read(path)] for m in pattern.finditer(text)]
    assert not hits, "citations that do not resolve in the repository:\n" + "\n".join(hits)


def test_every_bracketed_key_is_an_entry_of_the_bibliography():
    entries = _entries()
    cited, missing = set(), []
    for path in _files():
        text = _read(path)
        for m in KEY.finditer(text):
            cited.add(m.group(1))
            if m.group(1) not in entries:
                missing.append(f"{_where(path, text, m.start())}: [{m.group(1)}]")
    assert not missing, "keys missing from docs/references.md:\n" + "\n".join(missing)
    assert {"he2015", "he2016", "luo2021", "computed2026"} <= cited  # the scan does find keys


def test_every_author_year_citation_has_an_entry():
    by_year = {}
    for authors, year in _entries().values():
        by_year.setdefault(year, []).append(authors)
    unresolved = []
    for path in _files():
        text = _read(path)
        for pattern in AUTHOR_YEAR:
            for m in pattern.finditer(text):
                *names, year = m.groups()
                surnames = re.findall(SURNAME, " ".join(names))
                if not any(all(s in authors for s in surnames) for authors in by_year.get(year, [])):
                    unresolved.append(f"{_where(path, text, m.start())}: {m.group(0)}")
    assert not unresolved, "author-year citations without a docs/references.md entry:\n" + "\n".join(unresolved)


def test_the_scans_would_catch_a_bad_citation():
    bad = "see " + "REFER" + "ENCE 6b and [nosuchpaper2020]; Nobody et al. 2019"
    assert FORBIDDEN[0].search(bad)
    assert KEY.search(bad).group(1) not in _entries()
    assert AUTHOR_YEAR[0].search(bad).groups() == ("Nobody", "2019")
