"""Summing the gradients that meet at one tensor never writes into an array an op handed back (Add gives
one array to both inputs): a guard for anyone who makes the sums in place."""
import numpy as np

import minidl


def test_shared_gradient_arrays_are_not_modified(rng):
    a = minidl.tensor(rng.standard_normal(4), requires_grad=True)
    b = minidl.tensor(rng.standard_normal(4), requires_grad=True)
    s = a + b           # Add.backward hands one array to both a and b
    out = s * 2 + a * 3 + a * 5 + a * 7  # a gets four gradients, b shares one of them
    out.backward(np.ones(4))
    assert np.allclose(b.grad, 2) and np.allclose(a.grad, 2 + 3 + 5 + 7)


def test_hooks_see_their_gradient_unchanged_by_later_sums(rng):
    x = minidl.tensor(rng.standard_normal(3), requires_grad=True)
    h = x * 1.0
    seen = []
    h.register_hook(lambda g: seen.append(g))
    y = h * 2 + h * 3 + h * 4 + x * 10
    y.backward(np.ones(3))
    kept = seen[0].copy()
    assert np.allclose(kept, 9) and np.allclose(x.grad, 9 + 10)
    assert np.array_equal(seen[0], kept)


def test_many_gradients_into_one_tensor(rng):
    x = minidl.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    total = x * 0.0
    for k in range(1, 11):
        total = total + x * float(k)
    total.sum().backward()
    assert np.allclose(x.grad, sum(range(11)))
