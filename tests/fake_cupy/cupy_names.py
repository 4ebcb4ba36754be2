"""Write cupy/NAMES.txt: the public names that every CuPy release minidl supports has at the top of `cupy`.

    python tests/fake_cupy/cupy_names.py WHEEL [WHEEL ...]

Each WHEEL is a cupy wheel (e.g. `pip download --no-deps cupy-cuda12x==13.0.0`); the names bound at module level
in its cupy/__init__.py are read from the source (nothing is imported), and the names all the wheels share are
written, one a line, after a header saying which wheels they came from. The stand-in refuses any other name
(cupy/__init__.py), so that minidl cannot come to call an API that the oldest supported CuPy lacks.
"""
import ast
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def bound_names(tree):
    """Public names bound at the top level of a module (also inside top-level if/try blocks)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node in tree.body:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_") and n != "*"}


def wheel_names(path):
    with zipfile.ZipFile(path) as wheel:
        return bound_names(ast.parse(wheel.read("cupy/__init__.py")))


def main(wheels):
    shared = set.intersection(*(wheel_names(w) for w in wheels))
    lines = ["# Public names of `cupy` shared by " + ", ".join(os.path.basename(w) for w in wheels),
             "# written by tests/fake_cupy/cupy_names.py; the stand-in refuses every other name."]
    target = os.path.join(HERE, "cupy", "NAMES.txt")
    with open(target + ".tmp", "w") as out:
        out.write("\n".join(lines + sorted(shared)) + "\n")
    os.replace(target + ".tmp", target)
    print(f"{len(shared)} names written to {target}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python tests/fake_cupy/cupy_names.py WHEEL [WHEEL ...] (cupy wheels from pip download)")
    main(sys.argv[1:])
