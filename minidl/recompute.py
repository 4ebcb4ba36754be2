"""Recompute in backward ("gradient checkpointing"): keep a piece of the graph's inputs only, and run the
piece again in backward. (Saving a training run is minidl.training.checkpoint, another thing.)

`recompute(function, *inputs)` returns function(*inputs), but runs it without recording a graph, so none
of its intermediate arrays stay alive until backward; backward runs it once more, this time recording,
and differentiates that copy. Memory for compute: the memory-efficient DenseNet (Pleiss et al. 2017,
arXiv 1707.06990) recomputes concatenation + BN + ReLU + 1x1 conv, whose outputs otherwise grow
quadratically with a dense block's depth.

As with torch.utils.checkpoint (its re-entrant form): parameters used inside `function` get their
gradients only when at least one input requires a gradient; forward hooks inside run twice; buffers of
the modules passed as `preserve` (BN running statistics, say) are restored after the recomputation,
so that they move once per step. `function` must be deterministic (no dropout).
"""
from .autograd.function import Function
from .autograd.grad_mode import enable_grad, no_grad
from .autograd.tensor import Tensor


class Recompute(Function):
    def forward(self, *arrays, function, preserve):
        self.function, self.preserve = function, preserve
        self.save_for_backward(*arrays)  # the inputs only: arrays that already exist outside this piece
        with no_grad():
            return _data(function(*[Tensor._wrap(a) for a in arrays]))

    def backward(self, grad):
        inputs = [Tensor._wrap(a, requires_grad=need) for a, need in zip(self.saved, self.needs_input_grad)]
        buffers = [b for module in self.preserve for b in module.buffers()]
        kept = [b.data.copy() for b in buffers]
        with enable_grad():
            out = self.function(*inputs)
        for buffer, value in zip(buffers, kept):
            buffer.data[...] = value
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise RuntimeError("recompute: the recomputed function did not return a Tensor that requires grad")
        out.backward(grad)  # parameters inside accumulate their .grad here, as they would without recomputation
        return tuple(t.grad if need else None for t, need in zip(inputs, self.needs_input_grad))


def _data(value):
    if not isinstance(value, Tensor):
        raise TypeError(f"recompute: function must return one Tensor, got {type(value).__name__}")
    return value.data


def recompute(function, *inputs, preserve=()):
    """function(*inputs) with its intermediate arrays recomputed in backward instead of kept (see above).

    inputs: Tensors (or arrays); preserve: modules whose buffers the recomputation must not change.
    """
    if not callable(function):
        raise TypeError(f"recompute: function must be callable, got {function!r}")
    if not inputs:
        raise ValueError("recompute: give at least one input")
    return Recompute.apply(*inputs, function=function, preserve=tuple(preserve))
