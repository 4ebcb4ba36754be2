"""minidl: a deep-learning framework written from scratch in NumPy (CPU) and CuPy (GPU).

The companion code of a textbook on shortcut connections: plain, highway, residual, dense and
Runge-Kutta-stacked networks, and the measurements that explain why shortcuts let deep networks train.
"""
from . import backend, cuda, data, functional
from ._allocator import keep_freed_memory
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor
from .backend import get_default_dtype, manual_seed, set_default_dtype
from .functional import cat, stack, where
from .seams import textbook_ops
from . import nn, optim, parallel
from . import models
from .profiler import profile
from .serialization import load, save
from .summary import summary
from .training import History, evaluate, train
from . import analysis
from . import fast  # plugs the speed corner into the seams of the textbook path (minidl/seams.py)

__version__ = "0.1.0"

# Importing minidl changes nothing process-wide: BLAS threads are set only while minidl's own threads run
# (_blas.py), and the allocator tuning is one call, made by train() and the benchmarks (_allocator.py).

__all__ = ["Tensor", "tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
           "manual_seed", "get_default_dtype", "set_default_dtype", "cat", "stack", "where", "backend", "cuda",
           "functional", "parallel", "keep_freed_memory"]
__all__ += ["nn", "optim", "models", "save", "load", "summary", "train", "evaluate", "History", "profile"]
__all__ += ["textbook_ops"]
