"""Fixture `stand_in`: run a snippet in a fresh Python whose `import cupy` finds the NumPy-backed stand-in.

A subprocess keeps the stand-in out of the test session's own modules: minidl there has already decided
whether CuPy exists. The snippet prints one JSON line last; the fixture returns it decoded. The snippet starts with
`tiny` (a tiny data set for train) and `small_cnn(dropout)` defined.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)

# Data shared by the snippets: a tiny classification set as (x_train, y_train, x_test, y_test).
TINY_DATA = """
import numpy as np
_rng = np.random.default_rng(0)
tiny = (_rng.standard_normal((48, 3, 8, 8)).astype(np.float32), _rng.integers(0, 10, 48),
        _rng.standard_normal((16, 3, 8, 8)).astype(np.float32), _rng.integers(0, 10, 16))
"""

SMALL_CNN = """
import minidl
from minidl import nn
def small_cnn(dropout=0.0):
    minidl.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(16, 10))
"""


def run_with_stand_in(code, devices=1, timeout=600):
    """Run `code` (after TINY_DATA and SMALL_CNN) with the stand-in as cupy; return its last output line as JSON."""
    env = dict(os.environ, MINIDL_FAKE_CUPY_DEVICES=str(devices),
               PYTHONPATH=os.pathsep.join(p for p in (os.path.join(TESTS, "fake_cupy"), ROOT,
                                                       os.environ.get("PYTHONPATH")) if p))
    script = "\n".join([TINY_DATA, SMALL_CNN, textwrap.dedent(code)])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout)
    assert done.returncode == 0, f"the snippet failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def stand_in():
    """run_with_stand_in(code, devices=1): the JSON that `code` printed last."""
    return run_with_stand_in
