"""Differentiable ops, imported as `F` (PyTorch's torch.nn.functional names and argument orders).

One file per family; each op is a Function with forward/backward on raw NumPy/CuPy arrays.

Function classes are named after the op they compute (`Add`, `MatMul`, `CrossEntropy`). The core ops that have a
textbook and a fast version (conv2d, batch norm, the pools) name each by its way: `TextbookConv2d`,
`WinogradConv2d`, `Im2colConv2d`, `GpuConv2d`, `FastBatchNorm`, `FastMaxPool2d`. A Function is never named like an
nn Module, so that a profile or a traceback says which of the two ran: where the op's name is a Module's, the
class adds `Function` (`ReLUFunction`, `LinearFunction`, `DropoutFunction`).
"""
from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .arith import (abs, add, astype, clamp, div, exp, log, matmul, maximum, minimum, mul, neg, pow, sqrt, sub,
                    to_device, where)
from .conv import conv2d
from .dropout import dropout
from .fused import add_relu, highway_combine
from .index import index
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .norm import batch_norm
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .reduce import amax, amin, argmax, argmin, max, mean, min, sum, var
from .shape import cat, chunk, expand, flatten, pad, permute, reshape, split, squeeze, stack, transpose, unsqueeze, view

__all__ = [
    "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh",
    "abs", "add", "astype", "clamp", "div", "exp", "log", "matmul", "maximum", "minimum", "mul", "neg", "pow", "sqrt",
    "sub", "to_device", "where", "conv2d", "dropout", "index", "linear", "cross_entropy", "mse_loss", "nll_loss",
    "batch_norm", "adaptive_avg_pool2d", "avg_pool2d", "max_pool2d", "amax", "amin", "argmax", "argmin", "max",
    "mean", "min", "sum", "var", "cat", "chunk", "expand", "flatten", "pad", "permute", "reshape", "split", "squeeze",
    "stack", "transpose", "unsqueeze", "view", "add_relu", "highway_combine",
]
