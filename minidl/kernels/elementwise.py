"""Launch elementwise.cu: bias + ReLU, residual add + ReLU, the highway combine, and their backward.

Every operand must have one shape and one dense memory layout (see `same_layout`): the kernels walk memory
flat, and the results take that layout.
"""
from .. import backend
from . import function, int32, launch


def same_layout(*arrays):
    """True when the arrays share shape, dtype and strides, and fill their memory without gaps."""
    first = arrays[0]
    if any(a.shape != first.shape or a.strides != first.strides or a.dtype != first.dtype for a in arrays[1:]):
        return False
    spans = sorted((abs(s), n) for s, n in zip(first.strides, first.shape) if n > 1)
    expected = first.itemsize
    for stride, n in spans:
        if stride != expected:
            return False
        expected *= n
    return all(s >= 0 for s in first.strides)


def _run(name, inputs, outputs=1):
    xp = backend.get_array_module(inputs[0])
    results = [xp.empty_like(inputs[0]) for _ in range(outputs)]
    launch(function("elementwise", name, inputs[0]), inputs[0].size, (*inputs, *int32(inputs[0].size), *results))
    return results


def bias_relu(x, bias, channels_last):
    """max(x + bias[c], 0) for x (N, C, ...), bias (C,)."""
    xp = backend.get_array_module(x)
    out = xp.empty_like(x)
    inner = 1 if channels_last or x.ndim == 2 else x.size // (x.shape[0] * x.shape[1])
    launch(function("elementwise", "bias_relu", x), x.size, (x, bias, *int32(x.size, x.shape[1], inner), out))
    return out


def add_relu(a, b):
    return _run("add_relu", (a, b))[0]


def relu_backward(grad, out):
    """grad where the ReLU's output is positive, else 0."""
    return _run("relu_backward", (grad, out))[0]


def highway_combine(t, h, c):
    return _run("highway_combine", (t, h, c))[0]


def highway_combine_backward(grad, t, h, c):
    """(grad_t, grad_h, grad_c) of t * h + (1 - t) * c."""
    return tuple(_run("highway_combine_backward", (grad, t, h, c), outputs=3))
