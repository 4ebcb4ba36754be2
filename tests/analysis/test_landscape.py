"""Loss landscape: the slice of a quadratic is an exact parabola, filter normalisation gives each filter the
weights' norm, and the model is restored bit for bit."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import loss_slice_1d, loss_surface_2d, random_direction


class Quadratic(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.arange(6.0).reshape(2, 3))


C = np.linspace(-1, 1, 6).reshape(2, 3)


def _quadratic_loss(model):
    return ((model.w - minidl.Tensor(C)) ** 2).sum()


def test_slice_of_a_quadratic_is_the_exact_parabola():
    model = Quadratic()
    w0 = model.w.data.copy()
    d = np.random.default_rng(0).standard_normal((2, 3))
    alphas = np.linspace(-2, 2, 9)
    result = loss_slice_1d(model, _quadratic_loss, alphas, direction=[d])
    expected = [((w0 + a * d - C) ** 2).sum() for a in alphas]
    np.testing.assert_allclose(result.losses, expected, rtol=1e-13)
    # f(a) = |d|^2 a^2 + 2 <w0 - c, d> a + |w0 - c|^2: its fitted coefficients are exactly these.
    np.testing.assert_allclose(np.polyfit(alphas, result.losses, 2),
                               [(d ** 2).sum(), 2 * ((w0 - C) * d).sum(), ((w0 - C) ** 2).sum()], rtol=1e-10)
    assert np.array_equal(model.w.data, w0)


def test_surface_of_a_quadratic_and_its_orientation():
    model = Quadratic()
    w0 = model.w.data.copy()
    rng = np.random.default_rng(1)
    d, e = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    alphas, betas = np.linspace(-1, 1, 5), np.linspace(-0.5, 0.5, 3)
    surface = loss_surface_2d(model, _quadratic_loss, alphas, betas, directions=([d], [e]))
    assert surface.losses.shape == (3, 5)
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            assert abs(surface.losses[j, i] - ((w0 + a * d + b * e - C) ** 2).sum()) < 1e-12
    assert np.array_equal(model.w.data, w0)


def test_filter_normalised_direction():
    minidl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4, 3))
    direction = random_direction(model, seed=7)
    params = list(model.parameters())
    assert [d.shape for d in direction] == [p.shape for p in params]
    for d, p in zip(direction, params):
        if p.ndim == 1:
            assert np.all(d == 0)      # biases and BN parameters are ignored
        else:
            axes = tuple(range(1, p.ndim))
            np.testing.assert_allclose(np.sqrt((d ** 2).sum(axis=axes)), np.sqrt((p.data ** 2).sum(axis=axes)),
                                       rtol=1e-5)
    kept = random_direction(model, seed=7, ignore_biasbn=False)
    np.testing.assert_allclose(np.linalg.norm(kept[1]), np.linalg.norm(params[1].data), rtol=1e-5)
    assert np.array_equal(kept[0], direction[0]) and not np.array_equal(random_direction(model, 8)[0], direction[0])


def test_batch_loss_restores_everything_even_in_train_mode():
    minidl.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((10, 3)).astype(np.float32), np.arange(10) % 2
    weights = [p.data.copy() for p in model.parameters()]
    buffers = [b.data.copy() for b in model.buffers()]
    with minidl.no_grad():
        model.eval()
        at_origin = F.cross_entropy(model(minidl.Tensor(x)), minidl.Tensor(y)).item()
    result = loss_slice_1d(model, (x, y), alphas=[-0.5, 0.0, 0.5])
    assert result.losses[1] == pytest.approx(at_origin, rel=1e-6) and result.losses[0] != result.losses[1]
    model.train()
    loss_surface_2d(model, (x, y), alphas=[-1.0, 1.0])
    assert all(np.array_equal(w, p.data) for w, p in zip(weights, model.parameters()))
    assert all(np.array_equal(b, m.data) for b, m in zip(buffers, model.buffers()))


def test_direction_of_the_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="one array per parameter"):
        loss_slice_1d(Quadratic(), _quadratic_loss, direction=[np.ones(3)])
    with pytest.raises(TypeError, match="function of the model or a batch"):
        loss_slice_1d(Quadratic(), 3.0)
