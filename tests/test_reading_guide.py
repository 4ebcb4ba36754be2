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


def _guide_files(title):
    with open(GUIDE) as f:
        return [path for path, _ in _rows(_section(f.read(), title))]


def _tool(name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_core_file_imports_a_speed_file():
    graph = _tool("import_graph")
    modules = graph._modules(ROOT)
    module_of = {os.path.relpath(path, ROOT): module for module, path in modules.items()}
    speed = {module_of[path] for path in _guide_files("The speed path")}
    crossings = [f"{path} imports {target}" for path in _guide_files("The core path")
                 for target in sorted(graph._imports(module_of[path], os.path.join(ROOT, path), modules) & speed)]
    assert not crossings, "the core path must reach the speed corner only through minidl/seams.py:\n" + \
        "\n".join(crossings)


def test_the_import_graph_has_one_back_edge_the_operator_overloads():
    graph = _tool("import_graph")
    nodes, edges = graph.graph(ROOT)
    assert graph.back_edges(nodes, edges) == [("autograd", "functional")]


def test_nn_conv2d_on_the_textbook_path_runs_only_core_files():
    conv_path = _tool("conv_path")
    import numpy as np

    import minidl
    layer = minidl.nn.Conv2d(3, 4, 3, padding=1)
    x = minidl.Tensor(np.ones((2, 3, 6, 6), np.float32), requires_grad=True)

    def step():
        y = layer(x)
        y.backward(np.ones(y.shape, np.float32))

    with minidl.textbook_ops():
        step()
        ran = conv_path.files_run(step)
    outside = sorted(set(ran) - set(_guide_files("The core path")))
    assert "minidl/functional/textbook/conv.py" in ran and not outside, f"not on the core path: {outside}"
