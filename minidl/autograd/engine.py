"""Reverse-mode differentiation: walk the graph in reverse topological order, without recursion."""
from operator import add

from .. import backend, split_batch
from . import function

ACCUMULATE = "(grad accumulation)"  # the profiler's name for summing the gradients that meet at one tensor


def topological_order(root):
    """Tensors that need a gradient, each listed after every tensor it was computed from.

    Iterative depth-first search (an explicit stack instead of recursion), so a chain of thousands of
    ops cannot hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, children_done = stack.pop()
        if children_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._ctx is not None:
            for parent in tensor._ctx.parents:
                if parent is not None and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def _owned(g, stored):
    """g, or a copy where in-place updates of .grad (clipping, optimizers) would go wrong: a broadcast view
    (stride 0: one element seen many times; CuPy has no read-only flag to stop the write) or an array
    already given to another tensor's .grad in this pass (Add hands its one gradient to both inputs)."""
    if id(g) in stored or 0 in getattr(g, "strides", ()):
        g = g.copy()
    stored.add(id(g))
    return g


def backward(root, grad=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's `.grad`, seeding with `grad` (ones for a scalar)."""
    if not root.requires_grad:
        raise RuntimeError(f"backward: the tensor of shape {root.shape} does not require grad and has no graph; "
                           "set requires_grad=True on an input it was computed from")
    xp = backend.get_array_module(root.data)
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be created implicitly only for a scalar output, but the output "
                               f"has shape {root.shape}; pass grad= of that shape (or reduce with .sum() first)")
        grad = xp.ones_like(root.data)
    else:
        grad = getattr(grad, "data", grad)
        grad = xp.asarray(grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise RuntimeError(f"backward: grad has shape {grad.shape} but the output has shape {root.shape}")

    pending = {id(root): grad}
    sink = split_batch.leaf_grad_sink()  # a data-parallel replica collects leaf gradients itself
    stored = set()  # ids of the arrays given to a .grad in this pass
    for tensor in reversed(topological_order(root)):
        g = pending.pop(id(tensor), None)
        if g is None:
            continue
        for hook in tensor._hooks:
            replaced = hook(g)
            if replaced is not None:
                g = getattr(replaced, "data", replaced)
        fn = tensor._ctx
        if fn is None and sink is not None:
            sink(tensor, _owned(g, stored))
        elif fn is None or tensor._retains_grad:
            tensor.grad = _owned(g, stored) if tensor.grad is None else tensor.grad + g
        if fn is None:
            continue
        if fn._released:
            fn.saved  # raises the "backward through the graph a second time" error
        if function.profiler is None:
            input_grads = fn.backward(g)
        else:
            input_grads = function.profiler.call(fn.name, "backward", fn.backward, g)
        if not retain_graph:
            fn.release()
        for parent, parent_grad in zip(fn.parents, input_grads):
            if parent is None or parent_grad is None:
                continue
            key = id(parent)
            if key not in pending:
                pending[key] = parent_grad
            elif function.profiler is None:
                pending[key] = pending[key] + parent_grad
            else:
                pending[key] = function.profiler.call(ACCUMULATE, "backward", add, pending[key], parent_grad)
        if not retain_graph:
            # The links to the inputs keep the inputs' arrays alive, saved or not. Once this op's gradients are
            # handed on, drop them: a finished graph then frees its activations even while the caller still
            # holds the loss (a training loop rebinds `loss` only after the next forward has run).
            fn.parents = ()
