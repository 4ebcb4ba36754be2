"""Every plot function writes a PNG when matplotlib is installed and returns None, drawing nothing, when not."""
import os

import numpy as np

import minidl
from minidl import nn
from minidl.analysis import (gate_statistics, gradient_flow, jacobian_spectrum, lesion_study, loss_slice_1d,
                             loss_surface_2d, path_lengths, plots, shattering_table)
from minidl.analysis.feature_reuse import FeatureReuse
from minidl.analysis.gradient_flow import GradientFlowRecorder
from minidl.analysis.paths import EffectivePaths
from minidl.analysis.shattered import ResidualBlock


def _results():
    minidl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), ResidualBlock(nn.Linear(4, 4)), nn.Linear(4, 2)).double()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 3)), np.arange(8) % 2
    recorder = GradientFlowRecorder(net)
    with recorder:
        for _ in range(2):
            minidl.functional.cross_entropy(net(minidl.Tensor(x)), minidl.Tensor(y)).backward()
    gated = nn.Sequential(nn.Linear(3, 4))
    gated[0].gate = nn.Linear(3, 4)
    gated[0].register_forward_hook(lambda m, args, out: m.gate(args[0]) * 0 + out)
    n = path_lengths(4).n
    return {
        "plot_gradient_flow": ({"a": gradient_flow(net, x, y), "b": gradient_flow(net, x, y)},),
        "plot_flow_history": (recorder.history(),),
        "plot_singular_values": ({"linear": jacobian_spectrum(net[2], x[:1, :2] @ np.ones((2, 4)))},),
        "plot_input_gradients": ({"noise": rng.standard_normal(64), "walk": np.cumsum(rng.standard_normal(64))},),
        "plot_shattering": (shattering_table(depths=(1, 2), kinds=("plain",), seeds=range(2), width=8, points=16),),
        "plot_lesions": ({"res": lesion_study(net, (x, y))},),
        "plot_path_lengths": (n,),
        "plot_landscape_1d": ({"net": loss_slice_1d(net, (x, y), alphas=[-1.0, 0.0, 1.0])},),
        "plot_landscape_2d": (loss_surface_2d(net, (x, y), alphas=np.linspace(-1, 1, 4)),),
        "plot_feature_reuse": (FeatureReuse(np.tril(np.ones((3, 3))) + np.triu(np.full((3, 3), np.nan), 1),
                                            ["input", "1", "2"], ["1", "2", "3"]),),
        "plot_gates": ({"hw": gate_statistics(gated, x)},),
    }


def test_every_plot_writes_a_png_or_skips_without_matplotlib(tmp_path):
    results = _results()
    effective = EffectivePaths(np.arange(5), np.ones(5), np.zeros(5), np.array([1.0, 4, 6, 4, 1]))
    names = [name for name in dir(plots) if name.startswith("plot_")]
    assert sorted(names) == sorted(results)  # every plot function is exercised
    for name, args in results.items():
        path = tmp_path / "figures" / f"{name}.png"
        extra = {"effective": effective} if name == "plot_path_lengths" else {}
        returned = getattr(plots, name)(*args, path=path, **extra)
        if plots.matplotlib_available():
            assert returned == os.fspath(path)
            with open(path, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        else:
            assert returned is None and not path.exists()
    assert not list(tmp_path.rglob("*.tmp*"))  # written under a temporary name, then renamed
