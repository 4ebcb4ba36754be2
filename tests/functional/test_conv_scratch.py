"""The scratch slots of the conv ops: reuse per slot and thread, slot names checked, and the reuse rule: no
op result, gradient or saved array is a scratch buffer."""
import pathlib
import re
import threading

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.functional import _conv_scratch
from minidl.functional._conv_scratch import SLOTS, cached_buffers, release_scratch, scratch


def test_a_slot_is_reused_and_slots_do_not_share_memory():
    release_scratch()
    a = scratch("im2col.columns", (4, 5), np.float64, np)
    b = scratch("im2col.columns", (3, 6), np.float64, np)   # a request for the same slot: same memory
    c = scratch("winograd.products", (4, 5), np.float64, np)
    assert np.shares_memory(a, b) and not np.shares_memory(a, c)
    big = scratch("im2col.columns", (100,), np.float64, np)  # too small: a new, larger buffer
    assert big.shape == (100,) and not np.shares_memory(big, a)
    other = {}
    thread = threading.Thread(target=lambda: other.update(x=scratch("im2col.columns", (4, 5), np.float64, np)))
    thread.start()
    thread.join()
    assert not np.shares_memory(other["x"], big)  # every thread has its own buffers


def test_an_unknown_slot_is_refused():
    with pytest.raises(ValueError, match="unknown slot 'winograd.in_a'"):
        scratch("winograd.in_a", (2,), np.float32, np)


@pytest.mark.parametrize("stride,padding,kernel", [(1, 1, 3), (1, 0, 3), (2, 1, 3), (1, 2, 5), (2, 0, 1)])
def test_no_result_gradient_or_saved_array_is_scratch(stride, padding, kernel, monkeypatch, rng):
    """Outputs and what backward saved must survive the next conv: they may not live in a scratch slot."""
    monkeypatch.setenv("MINIDL_NUM_THREADS", "1")  # every chunk on this thread, so its buffers are the ones used
    release_scratch()
    x = minidl.tensor(rng.standard_normal((2, 3, 9, 9)), requires_grad=True)
    w = minidl.tensor(rng.standard_normal((4, 3, kernel, kernel)), requires_grad=True)
    y = F.conv2d(x, w, stride=stride, padding=padding)
    saved = [a for a in y._ctx.saved if isinstance(a, np.ndarray)]
    y.backward(np.ones(y.shape))
    buffers = cached_buffers().values()
    assert buffers, "the conv used no scratch slot: the test checks nothing"
    assert {key[0] for key in cached_buffers()} <= set(SLOTS)
    for array in [y.data, x.grad, w.grad, *saved]:
        assert not any(np.shares_memory(array, buffer) for buffer in buffers)


def test_the_slots_named_in_the_conv_code_are_the_described_ones():
    """Each slot the code asks for is listed with what it holds, and each listed slot is used."""
    folder = pathlib.Path(_conv_scratch.__file__).parent
    source = "".join(p.read_text() for p in folder.glob("_conv_*.py") if p.name != "_conv_scratch.py")
    used = set(re.findall(r'"((?:im2col|winograd)\.[a-z_]+)"', source))
    assert used == set(SLOTS)
