"""Path lengths through residual blocks (the numbers of docs/references.md [computed2026]) and single-path
gradients on a scalar residual net whose path gradients are products of its branch weights."""
import math

import numpy as np
import pytest

import minidl
from minidl import nn
from minidl.analysis import effective_path_gradients, path_lengths
from minidl.analysis.shattered import ResidualBlock


def test_resnet110_path_statistics_from_the_reference():
    paths = path_lengths(54)
    assert paths.mean == 27 and round(paths.std, 2) == 3.67
    assert sum(paths.counts) == 2 ** 54 and paths.counts[27] == math.comb(54, 27)
    assert round(100 * paths.fraction(5, 17), 2) == 0.45      # the effective paths are 0.45% of all
    assert round(paths.fraction(19, 35), 2) == 0.98
    assert abs(paths.probabilities.sum() - 1) < 1e-12 and paths.lengths[-1] == 54
    np.testing.assert_allclose(np.sum(paths.lengths * paths.probabilities), 27)
    with pytest.raises(ValueError):
        path_lengths(-1)


def _scalar_residual_net(n, a):
    blocks = []
    for _ in range(n):
        branch = nn.Linear(1, 1, bias=False).double()
        branch.weight.data[...] = a
        blocks.append(ResidualBlock(branch))   # y = x + a x
    return nn.Sequential(*blocks)


def _output_sum(out, y):
    return out.sum()


def test_single_path_gradients_are_products_of_branch_weights():
    n, a = 6, 0.5
    net = _scalar_residual_net(n, a)
    result = effective_path_gradients(net, np.ones((1, 1)), np.zeros(1), ks=None, trials=4, loss_fn=_output_sum)
    assert result.ks.tolist() == list(range(n + 1))
    np.testing.assert_allclose(result.grad_mean, a ** result.ks, rtol=1e-14)
    assert np.all(result.grad_std == 0)
    # Summing every path gives the full derivative d/dx (1 + a)^n x.
    np.testing.assert_allclose(result.total.sum(), (1 + a) ** n, rtol=1e-14)
    np.testing.assert_allclose(result.share().sum(), 1)
    assert all(p.grad is None for p in net.parameters())
    x = minidl.Tensor(np.ones((1, 1)), requires_grad=True)
    net(x).sum().backward()  # the hooks are gone: the full gradient flows again
    np.testing.assert_allclose(x.grad, [[(1 + a) ** n]])


def test_effective_paths_check_their_arguments():
    net = _scalar_residual_net(3, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        effective_path_gradients(net, np.ones((1, 1)), np.zeros(1), ks=[4], loss_fn=_output_sum)
    plain = nn.Sequential(nn.Linear(1, 1))
    plain[0].shortcut = None
    with pytest.raises(AttributeError, match="branch"):
        effective_path_gradients(plain, np.ones((1, 1)), np.zeros(1), blocks=["0"], loss_fn=_output_sum)
