"""F.add_relu and F.highway_combine: the composed ops on the CPU (bit for bit), and the fused Functions'
gradients in float64 (run here through the CPU emulation of their kernels)."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck
from minidl.functional.fused import AddReLU, HighwayCombine
import cuda_emulation as emulation

needs_gxx = pytest.mark.skipif(emulation.compiler() is None,
                               reason="g++ is not on PATH, so the fused kernels cannot be emulated on the CPU")


def test_cpu_results_equal_the_composed_ops(t64):
    a, b, t, h, c = (t64(2, 3, 4, 4) for _ in range(5))
    for fused, composed, inputs in [(F.add_relu, lambda a, b: F.relu(a + b), (a, b)),
                                    (F.highway_combine, lambda t, h, c: t * h + (1 - t) * c, (t, h, c))]:
        out, expected = fused(*inputs), composed(*inputs)
        np.testing.assert_array_equal(out.data, expected.data)
        out.sum().backward()
        grads = [x.grad.copy() for x in inputs]
        for x in inputs:
            x.grad = None
        composed(*inputs).sum().backward()
        for grad, x in zip(grads, inputs):
            np.testing.assert_array_equal(grad, x.grad)
            x.grad = None


@needs_gxx
def test_add_relu_kernel_gradcheck(t64):
    a, b = t64(2, 3, 4, 5), t64(2, 3, 4, 5)
    assert gradcheck(lambda a, b: AddReLU.apply(a, b), [a, b])


@needs_gxx
def test_highway_combine_kernel_gradcheck(t64):
    t, h, c = t64(2, 3, 4, 5), t64(2, 3, 4, 5), t64(2, 3, 4, 5)
    assert gradcheck(lambda t, h, c: HighwayCombine.apply(t, h, c), [t, h, c])


@needs_gxx
def test_kernel_backward_takes_any_gradient_layout(rng):
    """A gradient in another memory layout than the output is copied into it before the flat kernel runs."""
    a = minidl.Tensor(rng.standard_normal((2, 3, 4, 5)), requires_grad=True)
    b = minidl.Tensor(rng.standard_normal((2, 3, 4, 5)), requires_grad=True)
    grad = np.ascontiguousarray(rng.standard_normal((2, 4, 5, 3))).transpose(0, 3, 1, 2)
    AddReLU.apply(a, b).backward(grad)
    np.testing.assert_array_equal(a.grad, grad * (a.data + b.data > 0))
