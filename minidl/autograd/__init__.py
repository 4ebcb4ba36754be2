"""The autograd engine: Tensor, Function, backward and the grad-mode switches."""
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, tensor

__all__ = ["Function", "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]
