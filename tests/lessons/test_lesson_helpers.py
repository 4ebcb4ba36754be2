"""Every chapter has one entry point, main(), and does nothing when imported; the shared low-resolution helper."""
import glob
import importlib.util
import os
import sys

import numpy as np
import pytest

LESSONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "lessons")
CHAPTERS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(LESSONS, "ch[0-9][0-9]_*.py")))


@pytest.fixture
def lessons_on_path(monkeypatch):
    monkeypatch.syspath_prepend(LESSONS)
    import _lesson
    return _lesson


def test_all_nine_chapters_are_found():
    assert len(CHAPTERS) == 9 and CHAPTERS[0].startswith("ch01") and CHAPTERS[-1].startswith("ch09")


@pytest.mark.parametrize("script", CHAPTERS)
def test_importing_a_chapter_runs_nothing_and_main_is_its_entry_point(script, lessons_on_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["no-arguments-would-parse-like-this", "--bogus"])
    spec = importlib.util.spec_from_file_location(script[:-3], os.path.join(LESSONS, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a chapter that ran at import would parse --bogus and exit
    assert callable(module.main)
    assert capsys.readouterr().out == ""
    with open(os.path.join(LESSONS, script)) as f:
        assert f.read().rstrip().endswith('if __name__ == "__main__":\n    main()')


def test_low_resolution_averages_blocks_and_keeps_the_dtype(lessons_on_path):
    images = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    small = lessons_on_path.low_resolution(images, 2)
    assert small.shape == (2, 3, 2, 2) and small.dtype == np.float32
    np.testing.assert_array_equal(small[0, 0], [[2.5, 4.5], [10.5, 12.5]])  # means of the 2x2 blocks
    np.testing.assert_array_equal(lessons_on_path.low_resolution(images, 4), images)
    with pytest.raises(ValueError, match="low_resolution: expected square images whose side is a multiple of 3"):
        lessons_on_path.low_resolution(images, 3)
