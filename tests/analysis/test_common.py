"""Selectors and state helpers shared by the analysis tools."""
import numpy as np
import pytest

from minidl import nn
from minidl.analysis._common import as_input, restore, select_modules, snapshot


def _net():
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)), nn.Linear(3, 1))


def test_select_by_class_function_names_and_modules():
    net = _net()
    by_class = select_modules(net, nn.Linear, "t")
    assert [n for n, _ in by_class] == ["0", "2.0", "3"]
    assert [n for n, _ in select_modules(net, (nn.Linear, nn.BatchNorm1d), "t")] == ["0", "2.0", "2.1", "3"]
    assert [n for n, _ in select_modules(net, lambda n, m: n.startswith("2."), "t")] == ["2.0", "2.1"]
    assert select_modules(net, ["3", "0"], "t") == [("3", net[3]), ("0", net[0])]
    assert select_modules(net, [net[2][1]], "t") == [("2.1", net[2][1])]


def test_select_errors_name_the_problem():
    net = _net()
    with pytest.raises(KeyError, match="'nope'"):
        select_modules(net, ["nope"], "tool")
    with pytest.raises(ValueError, match="tool: the selector chose no layers"):
        select_modules(net, nn.Conv2d, "tool")
    with pytest.raises(ValueError, match="not part of"):
        select_modules(net, [nn.Linear(1, 1)], "tool")
    with pytest.raises(TypeError, match="Module class"):
        select_modules(net, [1, 2], "tool")


def test_as_input_follows_the_model_dtype_and_snapshot_restores_bitwise():
    net = _net().double()
    assert as_input(np.ones((2, 2), np.float32), net).dtype == np.float64
    assert as_input(np.array([1, 2]), net).dtype.kind == "i"
    assert as_input(np.ones(2, np.float32), lambda x: x).dtype == np.float32  # a plain function keeps the dtype
    saved = snapshot(net)
    before = [p.data.copy() for p in net.parameters()] + [net[2][1].running_mean.data.copy()]
    for p in net.parameters():
        p.data += 1
    net[2][1].running_mean.data[...] = 5
    restore(saved)
    after = [p.data for p in net.parameters()] + [net[2][1].running_mean.data]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
