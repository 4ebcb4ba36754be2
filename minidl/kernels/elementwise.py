"""Launch elementwise.cu: residual add + ReLU, the highway combine, and their backward.

The kernels walk memory flat, so `_operands` first brings every operand to one dtype (NumPy's promotion of
theirs, or the ReLU output's as in F.relu) and one dense memory layout (the forward input's); the results take
that dtype and layout.
"""
from .. import backend
from . import cast, function, int32, launch


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


def _operands(name, arrays, like, dtype):
    """The arrays in `dtype` (None: NumPy's promotion of theirs) and in the memory layout of arrays[like]
    (made dense if it is not)."""
    xp = backend.get_array_module(*arrays)
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"elementwise.{name}: operands must have one shape, got {[tuple(a.shape) for a in arrays]}")
    arrays = cast(dtype or xp.result_type(*arrays), *arrays)
    model = arrays[like] if same_layout(arrays[like]) else xp.ascontiguousarray(arrays[like])
    return [model if i == like else a if same_layout(model, a) else _copied_into_layout(xp, model, a)
            for i, a in enumerate(arrays)]


def _copied_into_layout(xp, like, array):
    copy = xp.empty_like(like)
    copy[...] = array
    return copy


def _run(name, inputs, outputs=1, like=0, dtype=None):
    inputs = _operands(name, inputs, like, dtype)
    xp = backend.get_array_module(inputs[0])
    results = [xp.empty_like(inputs[0]) for _ in range(outputs)]
    launch(function("elementwise", name, inputs[0]), inputs[0].size, (*inputs, *int32(inputs[0].size), *results))
    return results


def add_relu(a, b):
    return _run("add_relu", (a, b))[0]


def relu_backward(grad, out):
    """grad where the ReLU's output is positive, else 0; in the output's dtype and layout, as F.relu's backward."""
    return _run("relu_backward", (grad, out), like=1, dtype=out.dtype)[0]


def highway_combine(t, h, c):
    return _run("highway_combine", (t, h, c))[0]


def highway_combine_backward(grad, t, h, c):
    """(grad_t, grad_h, grad_c) of t * h + (1 - t) * c."""
    return tuple(_run("highway_combine_backward", (grad, t, h, c), outputs=3, like=1))
