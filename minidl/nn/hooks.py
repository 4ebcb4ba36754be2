"""Hook handles and the machinery behind `Module.register_full_backward_hook`.

A full backward hook is called as hook(module, grad_input, grad_output) with the gradients (raw arrays)
with respect to the module's positional Tensor inputs and its outputs. Both are captured by identity
ops (`_GradProbe`) wrapped around the inputs before `forward` and around the outputs after it. The
probe on an input sees only the gradient that flows through *this* module, not the total gradient of
the input tensor (which would also include, say, a residual shortcut around the module).
"""
import itertools

from ..autograd.function import Function

_next_id = itertools.count()


class RemovableHandle:
    """Returned by the register_*_hook methods; `.remove()` unregisters the hook."""

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(_next_id)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class _GradProbe(Function):
    """Identity in the forward pass; its backward hands the gradient to a callback that may replace it."""

    def forward(self, x, callback):
        self.callback = callback
        return x

    def backward(self, grad):
        replaced = self.callback(grad)
        return (grad if replaced is None else replaced), None


def _is_grad_tensor(value):
    from ..autograd.tensor import Tensor
    return isinstance(value, Tensor) and value.requires_grad


class BackwardHookCall:
    """Collects grad_output and grad_input of one module call and fires the module's backward hooks.

    In reverse topological order every output probe runs before any input probe, so the hooks fire
    when the last input probe has its gradient (or, when no input needs a gradient, when the last
    output probe has). Returning a new grad_input from a hook is supported when exactly one input
    needs a gradient; with several, the gradients of the others have already moved on.
    """

    def __init__(self, module, args):
        self.module = module
        self.n_args = len(args)
        self.in_slots = [i for i, a in enumerate(args) if _is_grad_tensor(a)]
        self.out_slots = []
        self._reset()

    def _reset(self):
        self.grad_input = [None] * self.n_args
        self.grad_output = None
        self.inputs_seen = self.outputs_seen = 0

    def wrap_inputs(self, args):
        args = list(args)
        for i in self.in_slots:
            args[i] = _GradProbe.apply(args[i], callback=lambda g, i=i: self._input_grad(i, g))
        return tuple(args)

    def wrap_outputs(self, output):
        single = not isinstance(output, (tuple, list))
        outputs = [output] if single else list(output)
        self.out_slots = [j for j, o in enumerate(outputs) if _is_grad_tensor(o)]
        self.n_outputs = len(outputs)
        for j in self.out_slots:
            outputs[j] = _GradProbe.apply(outputs[j], callback=lambda g, j=j: self._output_grad(j, g))
        if single:
            return outputs[0]
        return type(output)(outputs) if isinstance(output, tuple) else outputs

    def _output_grad(self, j, grad):
        if self.grad_output is None:
            self.grad_output = [None] * self.n_outputs
        self.grad_output[j] = grad
        self.outputs_seen += 1
        if not self.in_slots and self.outputs_seen == len(self.out_slots):
            self._fire()
        return None

    def _input_grad(self, i, grad):
        self.grad_input[i] = grad
        self.inputs_seen += 1
        if self.inputs_seen < len(self.in_slots):
            return None
        replaced = self._fire()
        if replaced is None:
            return None
        if len(self.in_slots) != 1:
            raise RuntimeError(f"{type(self.module).__name__}: a full backward hook returned a new grad_input, which "
                               "is supported only for modules with exactly one input that requires grad")
        return getattr(replaced[i], "data", replaced[i])

    def _fire(self):
        grad_input = tuple(self.grad_input)
        grad_output = tuple(self.grad_output or ())
        self._reset()
        replaced = None
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input if replaced is None else replaced, grad_output)
            if result is not None:
                replaced = tuple(result) if isinstance(result, (tuple, list)) else (result,)
                if len(replaced) != self.n_args:
                    raise RuntimeError(f"{type(self.module).__name__}: a full backward hook returned {len(replaced)} "
                                       f"gradients, expected {self.n_args} (one per positional input)")
        return replaced
