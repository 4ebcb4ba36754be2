"""`Module`: the base class of every layer and network; it tracks parameters, buffers and sub-modules.

Assigning a Parameter, a Module or (for names registered with `register_buffer`) an array to an
attribute registers it, so `parameters()`, `state_dict()`, `to()` and `train()/eval()` can walk the
whole tree. Names, argument orders and traversal orders follow torch.nn.Module.
"""
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from .hooks import BackwardHookCall, RemovableHandle
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Subclass, create layers in `__init__` (after `super().__init__()`), and write `forward`."""

    def __init__(self):
        # object.__setattr__ bypasses our own __setattr__, which needs these dicts to exist.
        for name, value in (("training", True), ("_parameters", {}), ("_buffers", {}), ("_non_persistent", set()),
                            ("_modules", {}), ("_forward_pre_hooks", {}), ("_forward_hooks", {}),
                            ("_backward_hooks", {})):
            object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is missing the required 'forward' method")

    # ----- calling -----
    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        call = BackwardHookCall(self, args) if self._backward_hooks and is_grad_enabled() else None
        if call is not None:
            args = call.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        if call is not None:
            output = call.wrap_outputs(output)
        return output

    def register_forward_pre_hook(self, hook):
        """hook(module, args) runs before forward; a non-None return replaces the positional args."""
        return self._add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """hook(module, args, output) runs after forward; a non-None return replaces the output."""
        return self._add_hook(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook):
        """hook(module, grad_input, grad_output) runs in backward, with tuples of raw gradient arrays
        (None where there is no gradient); see minidl/nn/hooks.py for exactly when it fires."""
        return self._add_hook(self._backward_hooks, hook)

    @staticmethod
    def _add_hook(hooks, hook):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # ----- registration -----
    def _check_init(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() is called; "
                                 f"call super().__init__() first in {type(self).__name__}.__init__")

    def register_parameter(self, name, param):
        """Register a Parameter (or None, e.g. a missing bias) under `name`."""
        self._check_init("parameters")
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' as parameter '{name}' of "
                            f"{type(self).__name__} (minidl.nn.Parameter or None expected)")
        self._discard(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register non-learnable state (a Tensor, an array or None); persistent buffers go into state_dict."""
        self._check_init("buffers")
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            if not hasattr(tensor, "shape"):
                raise TypeError(f"cannot assign '{type(tensor).__name__}' as buffer '{name}' of "
                                f"{type(self).__name__} (a Tensor, an array or None expected)")
            tensor = Tensor._wrap(tensor)
        self._discard(name, keep=self._buffers)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register a sub-module (or None) under `name`."""
        self._check_init("sub-modules")
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"cannot assign '{type(module).__name__}' as sub-module '{name}' of "
                            f"{type(self).__name__} (a Module or None expected)")
        self._discard(name, keep=self._modules)
        self._modules[name] = module

    register_module = add_module

    def _discard(self, name, keep):
        """Forget `name` everywhere except `keep`, where re-assigning keeps its place in the order."""
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self.__dict__.pop(name, None)  # a plain attribute of that name gives way, as in PyTorch
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._check_init("sub-modules")
            self.__dict__.pop(name, None)
            self.add_module(name, value)
        elif name in self.__dict__.get("_parameters", ()):
            self.register_parameter(name, value)  # only None is accepted here; anything else raises
        elif name in self.__dict__.get("_modules", ()):
            self.add_module(name, value)
        elif name in self.__dict__.get("_buffers", ()):
            self.register_buffer(name, value, persistent=name not in self._non_persistent)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    # ----- traversal -----
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, parents before children."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter), each shared parameter once, in registration order, parents first."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call fn(module) on every sub-module (children first) and then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----- modes, devices, dtypes, gradients -----
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics) here and below; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient to None (or to zeros with set_to_none=False)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad[...] = 0

    def to(self, *args, device=None, dtype=None):
        """Move (in place) every parameter, gradient and buffer to a device and/or cast the floating ones to
        a dtype: model.to("cuda"), model.to(np.float64), model.to("cpu", np.float32). Returns self."""
        for arg in args:
            if isinstance(arg, str) and (arg == "cpu" or arg.startswith("cuda")):
                device = arg
            else:
                try:
                    dtype = np.dtype(arg)
                except TypeError:
                    raise TypeError(f"Module.to: expected a device ('cpu', 'cuda') or a dtype, got {arg!r}") from None
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {np.dtype(dtype)}")
        if device is not None:
            device = backend.normalize_device(device)

        def convert(array):
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype, copy=False)
            return backend.to_device(array, device) if device is not None else array

        for tensor in list(self.parameters()) + list(self.buffers()):
            tensor.data = convert(tensor.data)
            if tensor.grad is not None:
                tensor.grad = convert(tensor.grad)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # ----- state dict -----
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Every parameter and persistent buffer by dotted name (shared ones under each name).

        Values are Tensors sharing memory with the module (detached unless keep_vars=True), as in PyTorch;
        copy them if you keep training and want a snapshot.
        """
        destination = {} if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays) into the parameters and buffers, in place, keeping devices and dtypes.

        Everything is checked before anything is copied: a wrong shape always raises, and with strict=True
        so does any missing or unexpected key; the error names the first few offending keys of each kind and
        counts the rest (a wrong architecture can miss a hundred keys). Returns
        IncompatibleKeys(missing_keys, unexpected_keys).
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict of name -> array, got {type(state_dict).__name__}")
        targets = self.state_dict(keep_vars=True)  # the live tensors to copy into
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        mismatched = []
        for key, target in targets.items():
            if key in state_dict:
                source = state_dict[key]
                shape = tuple(getattr(source.data if isinstance(source, Tensor) else source, "shape", ()))
                if shape != target.shape:
                    mismatched.append(f"{key}: shape {shape} in the state dict, {target.shape} in the model")
        if mismatched or (strict and (missing or unexpected)):
            lines = []
            if missing:
                lines.append(f"missing keys ({len(missing)}): " + _first_few(missing, ", "))
            if unexpected:
                lines.append(f"unexpected keys ({len(unexpected)}): " + _first_few(unexpected, ", "))
            if mismatched:
                lines.append(f"wrong shapes ({len(mismatched)}): " + _first_few(mismatched, "; "))
            raise RuntimeError(f"error(s) loading the state dict of {type(self).__name__} (nothing was loaded):\n  "
                               + "\n  ".join(lines))
        for key, target in targets.items():
            if key in state_dict:
                source = state_dict[key]
                source = source.data if isinstance(source, Tensor) else source
                target.data[...] = backend.to_device(source, target.device)
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -----
    def extra_repr(self):
        """The text inside this module's parentheses in its repr (its settings); override in layers."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        children = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = (extra.split("\n") if extra else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _check_name(module, name, what):
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{what} name must be a non-empty string without '.', got {name!r}")
    if (name in module.__dict__ or hasattr(type(module), name)) and not _registered(module, name):
        raise KeyError(f"cannot register {what} '{name}': attribute '{name}' already exists on {type(module).__name__}")


def _registered(module, name):
    return any(name in getattr(module, registry) for registry in ("_parameters", "_buffers", "_modules"))


def _first_few(items, separator, shown=5):
    """The first `shown` items joined, then how many more there are: a readable line for 100+ keys."""
    text = separator.join(items[:shown])
    return text + (f"{separator}... and {len(items) - shown} more" if len(items) > shown else "")
