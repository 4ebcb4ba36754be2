"""minidl.recompute: the same values and gradients as running the function directly, inputs-only storage,
buffers restored after the recomputation, clear errors."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import gradcheck
from minidl.recompute import Recompute, recompute


def _block():
    minidl.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def test_same_values_and_gradients_as_without(rng):
    data = rng.standard_normal((5, 3))
    results = []
    for use in (False, True):
        block = _block()
        x = minidl.tensor(data, requires_grad=True)
        y = recompute(block, x, preserve=[block]) if use else block(x)
        (y * y).sum().backward()
        results.append((y.data, x.grad, [p.grad for p in block.parameters()],
                        [b.data.copy() for b in block.buffers()]))
    (y0, gx0, gp0, b0), (y1, gx1, gp1, b1) = results
    assert np.array_equal(y0, y1) and np.allclose(gx0, gx1)
    assert all(np.allclose(p, q) for p, q in zip(gp0, gp1))
    # preserve: BN running statistics and num_batches_tracked moved once, not twice
    assert all(np.array_equal(p, q) for p, q in zip(b0, b1))


def test_only_the_inputs_are_stored(rng):
    block = _block()
    x = minidl.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    y = recompute(block, x)
    assert isinstance(y._ctx, Recompute) and y._ctx.parents == (x,)
    assert len(y._ctx._saved) == 1 and y._ctx._saved[0] is x.data


def test_gradcheck_through_a_recomputed_function(t64):
    a, b = t64(3, 4), t64(4, 2)
    assert gradcheck(lambda a, b: recompute(lambda p, q: F.tanh(p @ q) * p.sum(), a, b), [a, b])


def test_inputs_without_gradient_get_none(rng):
    x = minidl.tensor(rng.standard_normal(3), requires_grad=True)
    c = minidl.tensor(rng.standard_normal(3))
    recompute(lambda x, c: (x * c).sum(), x, c).backward()
    assert np.allclose(x.grad, c.data) and c.grad is None


def test_errors():
    x = minidl.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="recompute: function must be callable"):
        recompute(3, x)
    with pytest.raises(ValueError, match="at least one input"):
        recompute(lambda: x)
    with pytest.raises(TypeError, match="must return one Tensor"):
        recompute(lambda x: (x, x), x)
