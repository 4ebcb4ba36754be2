"""The files a reader meets following `nn.Conv2d` to the arrays: every minidl file whose code runs during one
forward and backward of a Conv2d layer, on the default path and inside `minidl.textbook_ops()`.

    python tools/conv_path.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import minidl  # noqa: E402
from minidl import nn  # noqa: E402

PACKAGE = os.path.dirname(os.path.abspath(minidl.__file__))
ROOT = os.path.dirname(PACKAGE)


def files_run(step):
    """Relative paths of the minidl files whose functions run during step()."""
    seen = set()

    def tracer(frame, event, arg):
        path = frame.f_code.co_filename
        if path.startswith(PACKAGE):
            seen.add(os.path.relpath(path, ROOT))
        return None

    sys.setprofile(tracer)
    try:
        step()
    finally:
        sys.setprofile(None)
    return sorted(seen)


def report(title, files):
    lines = {f: len(open(os.path.join(ROOT, f)).read().splitlines()) for f in files}
    print(f"{title}: {len(files)} files, {sum(lines.values()):,} lines")
    for f, n in lines.items():
        print(f"  {n:5d}  {f}")


def main():
    layer = nn.Conv2d(16, 16, 3, padding=1)
    x = minidl.Tensor(np.random.default_rng(0).standard_normal((8, 16, 16, 16)).astype(np.float32),
                      requires_grad=True)

    def step():
        y = layer(x)
        y.backward(np.ones(y.shape, np.float32))

    step()  # warm: caches, lazy imports
    report("default path", files_run(step))
    switch = getattr(minidl, "textbook_ops", None) or getattr(minidl, "reference_ops")  # its name before 0.2
    with switch():
        step()
        report(f"{switch.__name__}() path", files_run(step))


if __name__ == "__main__":
    main()
