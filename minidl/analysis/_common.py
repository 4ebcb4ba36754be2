"""What the analysis tools share: choosing sub-modules with a selector, feeding arrays to a model, and
saving/restoring a model's state so that an analysis leaves the model exactly as it found it."""
import contextlib

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..nn.module import Module


def select_modules(model, selector, op, what="layers"):
    """The (dotted name, module) pairs of `model` that `selector` picks, in the model's traversal order.

    selector: a Module class or a tuple of classes (isinstance test), a function (name, module) -> bool,
    a list of dotted names ("stages.0.1") or a list of the modules themselves.
    """
    named = list(model.named_modules())
    if isinstance(selector, type) or (isinstance(selector, tuple) and selector
                                      and all(isinstance(s, type) for s in selector)):
        chosen = [(n, m) for n, m in named if isinstance(m, selector)]
    elif callable(selector) and not isinstance(selector, Module):
        chosen = [(n, m) for n, m in named if selector(n, m)]
    else:
        items = [selector] if isinstance(selector, (str, Module)) else list(selector)
        if all(isinstance(i, str) for i in items):
            by_name = dict(named)
            missing = [i for i in items if i not in by_name]
            if missing:
                raise KeyError(f"{op}: no sub-module named {', '.join(map(repr, missing))} in {type(model).__name__}; "
                               f"names look like {', '.join(repr(n) for n, _ in named[1:4])}")
            chosen = [(i, by_name[i]) for i in items]
        elif all(isinstance(i, Module) for i in items):
            by_id = {id(m): n for n, m in named}
            if any(id(m) not in by_id for m in items):
                raise ValueError(f"{op}: a module given as one of the {what} is not part of {type(model).__name__}")
            chosen = [(by_id[id(m)], m) for m in items]
        else:
            raise TypeError(f"{op}: {what} must be chosen by a Module class, a function (name, module) -> bool, "
                            f"a list of names or a list of modules; got {selector!r}")
    if not chosen:
        raise ValueError(f"{op}: the selector chose no {what} in {type(model).__name__}")
    return chosen


def model_device_dtype(model):
    """The device and floating dtype of a model's first parameter; (None, None) for a function or a
    Module without parameters."""
    for p in model.parameters() if isinstance(model, Module) else ():
        return p.device, p.dtype
    return None, None


def as_input(x, model, requires_grad=False):
    """A leaf Tensor holding x on the model's device; floating data takes the model's dtype, so a float64
    model (for exact Jacobians) gets float64 inputs. Without model parameters x keeps its device and dtype."""
    device, dtype = model_device_dtype(model)
    data = x.data if isinstance(x, Tensor) else x if hasattr(x, "shape") else np.asarray(x)
    if device is not None:
        data = backend.to_device(data, device)
        if data.dtype.kind == "f" and data.dtype != dtype:
            data = data.astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def to_numpy(array):
    return np.asarray(backend.to_device(array, "cpu"))


@contextlib.contextmanager
def frozen_parameters(model):
    """Parameters stop requiring grad inside (so input-gradient analyses leave every .grad untouched)."""
    params = list(model.parameters()) if isinstance(model, Module) else []
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad = flag


def snapshot(model):
    """Copies of every parameter, gradient and buffer array, for `restore`."""
    tensors = list(model.parameters()) + [b for b in model.buffers() if b is not None]
    return [(t, t.data.copy(), None if t.grad is None else t.grad.copy()) for t in tensors]


def restore(saved):
    """Put back, bit for bit, what `snapshot` copied."""
    for tensor, data, grad in saved:
        tensor.data[...] = data
        tensor.grad = grad
