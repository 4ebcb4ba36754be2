"""Adam and AdamW against the textbook formulas with explicit bias-corrected moments (and amsgrad)."""
import math

import numpy as np
import pytest

from minidl import nn, optim

GRADS = [0.5, -1.0, 2.0, 0.01, -0.02]  # the last two are small: v falls, so amsgrad matters


def _reference(p, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False):
    """Kingma & Ba's Algorithm 1, written with m_hat and v_hat, one scalar at a time."""
    m = v = v_max = 0.0
    values = []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p -= lr * weight_decay * p
        else:
            g += weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)
        m_hat = m / (1 - beta1 ** t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
        p -= lr * m_hat / (math.sqrt(v_hat) + eps)
        values.append(p)
    return values


def _run(cls, dtype=np.float64, **options):
    p = nn.Parameter(np.array([1.5], dtype))
    opt = cls([p], **options)
    values = []
    for g in GRADS:
        p.grad = np.array([g], dtype)
        opt.step()
        values.append(p.data[0].item())
    return values, opt, p


def test_first_adam_step_moves_by_lr():
    values, _, _ = _run(optim.Adam, lr=0.1)
    assert values[0] == pytest.approx(1.5 - 0.1, abs=1e-8)  # m_hat / sqrt(v_hat) = sign(g) at t = 1


@pytest.mark.parametrize("options", [dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
                                     dict(lr=0.1, weight_decay=0.2), dict(lr=0.1, amsgrad=True)])
def test_adam_matches_the_formula(options):
    values, _, _ = _run(optim.Adam, **options)
    beta1, beta2 = options.get("betas", (0.9, 0.999))
    expected = _reference(1.5, options["lr"], beta1, beta2, options.get("eps", 1e-8),
                          options.get("weight_decay", 0.0), amsgrad=options.get("amsgrad", False))
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_amsgrad_differs_when_the_second_moment_falls():
    plain, _, _ = _run(optim.Adam, lr=0.1)
    ams, opt, p = _run(optim.Adam, lr=0.1, amsgrad=True)
    assert plain[-1] != pytest.approx(ams[-1], rel=1e-6)
    assert (opt.state[p]["max_exp_avg_sq"] >= opt.state[p]["exp_avg_sq"]).all()


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_decays_the_weights_directly(amsgrad):
    values, _, _ = _run(optim.AdamW, lr=0.1, weight_decay=0.5, amsgrad=amsgrad)
    np.testing.assert_allclose(values, _reference(1.5, 0.1, weight_decay=0.5, decoupled=True, amsgrad=amsgrad),
                               rtol=1e-12)
    assert optim.AdamW([nn.Parameter(np.ones(1))]).defaults["weight_decay"] == 1e-2


def test_state_and_dtype():
    _, opt, p = _run(optim.Adam, dtype=np.float32, lr=np.float64(0.01), betas=(np.float64(0.9), 0.999))
    state = opt.state[p]
    assert state["step"] == len(GRADS)
    assert p.dtype == np.float32 and state["exp_avg"].dtype == np.float32 and state["exp_avg_sq"].dtype == np.float32


def test_invalid_arguments():
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([nn.Parameter(np.ones(1))], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr, eps and weight_decay"):
        optim.AdamW([nn.Parameter(np.ones(1))], lr=-0.1)
