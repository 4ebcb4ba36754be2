"""minidl.summary: rows per layer with nested names, output shapes, exact parameter and multiply-add totals."""
import numpy as np

import minidl
from minidl import nn


def _mlp():
    return nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(12, 8), nn.ReLU()), nn.BatchNorm1d(8),
                         nn.Linear(8, 3))


def test_mlp_rows_and_totals(capsys):
    model = _mlp()
    text = minidl.summary(model, (2, 3, 2, 2))
    assert capsys.readouterr().out.strip() == text.strip()
    lines = text.splitlines()
    row = next(line for line in lines if "1.0 (Linear)" in line)
    assert row.split()[-4:] == ["[2,", "8]", "104", "192"]  # 12*8 + 8 params; 2 rows * 12 * 8 mult-adds
    assert any("2 (BatchNorm1d)" in line and line.split()[-2:] == ["16", "--"] for line in lines)
    assert "Total params: 147" in text and "Trainable params: 147" in text
    assert "Total mult-adds: 240 " in text  # 192 + 2 * 8 * 3
    assert lines.index(next(line for line in lines if "1.0 (Linear)" in line)) < lines.index(
        next(line for line in lines if "1.1 (ReLU)" in line))


def test_depth_hides_rows_but_not_totals_and_no_side_effects():
    model = _mlp()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    text = minidl.summary(model, (2, 12), depth=1, print_table=False)
    assert "1.0 (Linear)" not in text and "1 (Sequential)" in text
    assert "Total mult-adds: 240 " in text
    assert model.training  # mode restored
    for key, value in model.state_dict().items():  # eval mode: running statistics untouched
        np.testing.assert_array_equal(value.data, before[key])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_frozen_parameters_are_non_trainable():
    model = _mlp()
    model[3].requires_grad_(False)
    text = minidl.summary(model, (1, 12), print_table=False)
    assert "Trainable params: 120" in text and "Non-trainable params: 27" in text


def test_small_cnn_parameters_and_mult_adds_exact():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(16, 10))
    text = minidl.summary(model, (1, 3, 8, 8), print_table=False)
    # conv 8*3*9 + 8, BN 2*8, conv 16*8*9, linear 16*10 + 10
    assert f"Total params: {224 + 16 + 1152 + 170:,}" in text
    # conv: (8*8*8 outputs) * 3*9; conv: (16*4*4 outputs) * 8*9; linear: 10*16
    assert f"Total mult-adds: {512 * 27 + 256 * 72 + 160:,} " in text
    row = next(line for line in text.splitlines() if "4 (Conv2d)" in line)
    assert row.split()[-6:] == ["[1,", "16,", "4,", "4]", "1,152", "18,432"]
