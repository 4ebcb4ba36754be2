"""Autograd semantics: accumulation, freeing, retain_graph, hooks, no_grad, deep chains, errors."""
import sys

import numpy as np
import pytest

import minidl
from minidl import functional as F


def test_gradients_accumulate_across_backward_calls():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert np.allclose(x.grad, [6.0, 6.0])


def test_shared_input_gets_the_sum_of_both_paths():
    x = minidl.tensor([2.0], requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.sum().backward()
    assert np.allclose(x.grad, [5.0])


def test_diamond_graph_visits_each_node_once():
    x = minidl.tensor([3.0], requires_grad=True)
    a = x * 2
    b = a * a + a  # db/dx = (2a + 1) * 2 = 26
    b.sum().backward()
    assert np.allclose(x.grad, [26.0])


def test_second_backward_through_freed_graph_is_a_clear_error():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_second_backward_fails_even_for_ops_that_save_nothing():
    x = minidl.tensor([1.0], requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert np.allclose(x.grad, 4 * np.exp([1.0, 2.0]))


def test_saved_arrays_are_freed_after_backward():
    x = minidl.tensor(np.ones(4), requires_grad=True)
    y = x.exp()
    fn = y.grad_fn
    assert len(fn.saved) == 1
    y.sum().backward()
    assert fn._saved == ()


def test_a_2000_op_chain_does_not_hit_the_recursion_limit():
    x = minidl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(max(2000, sys.getrecursionlimit() + 500)):
        y = y * 1.0 + 0.0
    y.sum().backward()
    assert np.allclose(x.grad, [1.0])


def test_backward_of_non_scalar_needs_a_gradient():
    x = minidl.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output.*\(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(np.ones((2, 3)))
    assert np.allclose(x.grad, 2.0)


def test_backward_gradient_of_wrong_shape_is_an_error():
    x = minidl.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_without_graph_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minidl.tensor([1.0]).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="int64"):
        minidl.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        minidl.tensor([1, 2]).requires_grad_()


def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on():
    x = minidl.tensor([1.0], requires_grad=True)
    with minidl.no_grad():
        y = x * 2
        with minidl.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad
    assert minidl.is_grad_enabled()


def test_no_grad_works_as_a_decorator():
    @minidl.no_grad()
    def double(t):
        return t * 2
    assert not double(minidl.tensor([1.0], requires_grad=True)).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    assert np.allclose(x.grad, [2.0, 4.0])


def test_hook_sees_and_can_replace_the_gradient():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    y = x * 3
    y.register_hook(lambda g: seen.append(g.copy()))
    x.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert np.allclose(seen[0], [1.0, 1.0])
    assert np.allclose(x.grad, [30.0, 30.0])


def test_hook_handle_removes_the_hook():
    x = minidl.tensor([1.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    assert np.allclose(x.grad, [2.0])


def test_retain_grad_keeps_non_leaf_gradient():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    assert np.allclose(y.grad, [4.0, 8.0])


def test_only_inputs_that_require_grad_get_gradients():
    a = minidl.tensor([1.0, 2.0], requires_grad=True)
    b = minidl.tensor([3.0, 4.0])
    (a * b).sum().backward()
    assert b.grad is None and np.allclose(a.grad, [3.0, 4.0])


def test_backward_with_explicit_gradient_tensor():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(minidl.tensor([1.0, 0.5]))
    assert np.allclose(x.grad, [2.0, 2.0])


def test_gradient_dtype_matches_float32_input():
    x = minidl.tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    F.relu(x * 2.5 + 1).mean().backward()
    assert x.grad.dtype == np.float32
