"""Forward, forward-pre and full backward hooks on modules, and their handles."""
import numpy as np
import pytest

import minidl
from minidl import nn


def _x(*shape, requires_grad=False):
    data = np.random.default_rng(0).standard_normal(shape)
    return minidl.Tensor(data, requires_grad=requires_grad)


class Scale(nn.Module):
    """y = 3 * x, so grad_input = 3 * grad_output."""

    def forward(self, x):
        return x * 3.0


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch = Scale()

    def forward(self, x):
        return x + self.branch(x)


def test_forward_hook_sees_input_and_output_and_can_replace_output():
    layer = nn.Linear(3, 2).double()
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    layer(_x(4, 3))
    assert seen == [(layer, (4, 3), (4, 2))]
    handle.remove()
    layer(_x(4, 3))
    assert len(seen) == 1
    layer.register_forward_hook(lambda m, args, out: out * 0.0)
    assert not layer(_x(4, 3)).data.any()


def test_forward_pre_hook_can_replace_the_input():
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, args: args[0] * 2.0)
    np.testing.assert_array_equal(layer(_x(2)).data, 2 * _x(2).data)


def test_full_backward_hook_gets_module_grads_not_the_shortcut():
    block = Residual()
    calls = []
    block.branch.register_full_backward_hook(lambda m, gin, gout: calls.append((m, gin, gout)))
    x = _x(5, requires_grad=True)
    upstream = np.arange(5.0)
    block(x).backward(upstream)
    assert len(calls) == 1
    module, grad_input, grad_output = calls[0]
    assert module is block.branch
    np.testing.assert_allclose(grad_output[0], upstream)
    # x's total gradient is 4 * upstream (shortcut + branch); the branch's own share is 3 * upstream
    np.testing.assert_allclose(grad_input[0], 3 * upstream)
    np.testing.assert_allclose(x.grad, 4 * upstream)


def test_full_backward_hook_can_replace_grad_input():
    layer = Scale()
    layer.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0.5,))
    x = _x(3, requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 1.5))


def test_full_backward_hook_without_input_grad_gets_none_and_parameter_grads_flow():
    layer = nn.Linear(3, 2).double()
    calls = []
    handle = layer.register_full_backward_hook(lambda m, gin, gout: calls.append((gin, gout)))
    layer(_x(4, 3)).sum().backward()
    assert len(calls) == 1
    grad_input, grad_output = calls[0]
    assert grad_input == (None,)
    np.testing.assert_array_equal(grad_output[0], np.ones((4, 2)))
    np.testing.assert_allclose(layer.weight.grad, np.ones((2, 4)) @ _x(4, 3).data)
    handle.remove()
    layer(_x(4, 3)).sum().backward()
    assert len(calls) == 1


def test_full_backward_hook_with_two_inputs():
    class Product(nn.Module):
        def forward(self, a, b):
            return a * b

    module = Product()
    calls = []
    module.register_full_backward_hook(lambda m, gin, gout: calls.append(gin))
    a, b = _x(3, requires_grad=True), minidl.Tensor(np.full(3, 2.0), requires_grad=True)
    module(a, b).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0][0], np.full(3, 2.0))
    np.testing.assert_allclose(calls[0][1], a.data)
    module.register_full_backward_hook(lambda m, gin, gout: gin)
    with pytest.raises(RuntimeError, match="exactly one input"):
        module(a, b).sum().backward()


def test_hooks_do_not_record_under_no_grad():
    layer = Scale()
    layer.register_full_backward_hook(lambda m, gin, gout: None)
    with minidl.no_grad():
        out = layer(_x(2, requires_grad=True))
    assert not out.requires_grad
