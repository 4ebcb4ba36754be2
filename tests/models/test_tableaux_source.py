"""The Butcher tableaux's source data lives in the repository: `tools/copy_tableaux.py --check` verifies the
generated module against tools/tableaux/butcher.json in a tree holding nothing outside the repository."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

from minidl.models import tableaux

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "tools", "tableaux", "butcher.json")


def _fresh_tree(tmp_path):
    """Only the files a clone holds that the check reads: the tool, the source data, the generated module."""
    tree = tmp_path / "clone"
    shutil.copytree(os.path.join(ROOT, "tools"), tree / "tools")
    (tree / "minidl" / "models").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "minidl", "models", "tableaux.py"), tree / "minidl" / "models")
    return tree


def _check(tree):
    return subprocess.run([sys.executable, str(tree / "tools" / "copy_tableaux.py"), "--check"],
                          cwd=tree, capture_output=True, text=True, timeout=120)


def test_the_generated_module_is_an_exact_copy_of_the_source_in_the_repository(tmp_path):
    result = _check(_fresh_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "minidl/models/tableaux.py is up to date" in result.stdout
    with open(SOURCE, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == tableaux.SOURCE_SHA256


def test_the_check_notices_a_changed_source(tmp_path):
    tree = _fresh_tree(tmp_path)
    source = tree / "tools" / "tableaux" / "butcher.json"
    data = json.loads(source.read_text())
    data["tableaux"]["rk4"]["b"][0] = 0.17
    source.write_text(json.dumps(data))
    result = _check(tree)
    assert result.returncode == 1 and "STALE" in result.stdout


def test_the_module_holds_the_sources_values():
    with open(SOURCE) as f:
        source = json.load(f)["tableaux"]
    assert set(source) == set(tableaux.TABLEAUX)
    for key, entry in source.items():
        for field in ("A", "b", "c", "order", "stages"):
            assert tableaux.TABLEAUX[key][field] == entry[field], (key, field)
