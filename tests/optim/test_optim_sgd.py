"""SGD against hand-computed updates: plain, momentum, dampening, Nesterov, weight decay; dtype kept."""
import numpy as np
import pytest

import minidl
from minidl import nn, optim


def _run(steps, dtype=np.float64, **options):
    """Minimise p^2 from p = 1 (gradient 2p); return p after each step."""
    p = nn.Parameter(np.array([1.0], dtype))
    opt = optim.SGD([p], **options)
    values = []
    for _ in range(steps):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        values.append(p.data[0].item())
    return values


def test_plain_sgd():
    assert _run(2, lr=0.1) == pytest.approx([0.8, 0.64])


def test_momentum_first_buffer_is_the_gradient():
    # buf1 = g1 = 2; p1 = 1 - 0.1*2 = 0.8
    # g2 = 1.6; buf2 = 0.9*2 + 1.6 = 3.4; p2 = 0.8 - 0.34 = 0.46
    # g3 = 0.92; buf3 = 0.9*3.4 + 0.92 = 3.98; p3 = 0.46 - 0.398 = 0.062
    assert _run(3, lr=0.1, momentum=0.9) == pytest.approx([0.8, 0.46, 0.062])


def test_dampening_applies_from_the_second_step():
    # buf1 = 2 (no dampening on the first step); buf2 = 0.9*2 + 0.5*1.6 = 2.6; p2 = 0.8 - 0.26
    assert _run(2, lr=0.1, momentum=0.9, dampening=0.5) == pytest.approx([0.8, 0.54])


def test_nesterov():
    # d1 = 2 + 0.9*2 = 3.8; p1 = 0.62; g2 = 1.24; buf2 = 1.8 + 1.24 = 3.04; d2 = 1.24 + 0.9*3.04 = 3.976
    assert _run(2, lr=0.1, momentum=0.9, nesterov=True) == pytest.approx([0.62, 0.2224])


def test_weight_decay_is_added_to_the_gradient():
    # g = 2p + 0.1p = 2.1p; p1 = 1 - 0.21 = 0.79; p2 = 0.79 * 0.79
    assert _run(2, lr=0.1, weight_decay=0.1) == pytest.approx([0.79, 0.6241])
    # with momentum the decayed gradient goes into the buffer: buf1 = 2.1, buf2 = 0.9*2.1 + 2.1*0.79
    p2 = 0.79 - 0.1 * (0.9 * 2.1 + 2.1 * 0.79)
    assert _run(2, lr=0.1, momentum=0.9, weight_decay=0.1) == pytest.approx([0.79, p2])


def test_float32_stays_float32_even_with_numpy_float64_hyperparameters():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p], lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(1e-4))
    for _ in range(2):
        p.grad = np.full(3, 0.5, np.float32)
        opt.step()
    assert p.data.dtype == np.float32 and opt.state[p]["momentum_buffer"].dtype == np.float32


def test_parameters_without_gradients_are_skipped_and_zero_grad():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(a.data, [0.5, 0.5])
    np.testing.assert_array_equal(b.data, [1, 1])
    assert b not in opt.state
    opt.zero_grad()
    assert a.grad is None


def test_closure_returns_the_loss():
    p = nn.Parameter(np.array([2.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with minidl.no_grad():
        loss = opt.step(closure)  # the closure runs with gradients enabled
    assert loss.item() == 4.0 and p.data[0] == pytest.approx(1.6)


def test_invalid_arguments():
    p = [nn.Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="invalid lr -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2.0], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
