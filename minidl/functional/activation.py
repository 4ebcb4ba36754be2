"""Activations: relu, leaky_relu, sigmoid, tanh, softplus, gelu, softmax, log_softmax."""
import math

import numpy as np

from .. import backend
from ..autograd.function import Function
from ._util import normalize_dim, raw, require_float


class ReLUFunction(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        out = xp.maximum(x, 0)
        # out > 0 exactly where x > 0. Saving `out` costs no memory: the graph keeps it alive anyway, as the
        # input of the next op (measured: a 1-byte mask instead made resnet56's peak 64 MB higher).
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        xp = backend.get_array_module(out)
        # The result takes the activation's memory layout (channels-last after a conv) even when grad comes
        # in another one, so that the ops before this one in backward all see one layout (mixing is slow).
        return (xp.multiply(grad, out > 0, out=xp.empty_like(out)),)


class LeakyReLUFunction(Function):
    def forward(self, x, negative_slope):
        self.slope = negative_slope
        self.save_for_backward(x)
        return backend.get_array_module(x).where(x > 0, x, x * x.dtype.type(negative_slope))

    def backward(self, grad):
        (x,) = self.saved
        return backend.get_array_module(x).where(x > 0, grad, grad * grad.dtype.type(self.slope)), None


class SigmoidFunction(Function):
    def forward(self, x):
        xp = backend.get_array_module(x)
        # 1/(1+e^-x) overflows e^-x for very negative x; tanh gives the same value without overflow.
        # out = 0.5 * (tanh(0.5 x) + 1), computed in one array (in place after the first product)
        out = xp.multiply(x, x.dtype.type(0.5), out=xp.empty_like(x))  # out=: an array even for 0-d x
        xp.tanh(out, out=out)
        out += 1
        out *= 0.5
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        xp = backend.get_array_module(out)
        slope = xp.subtract(1, out, out=xp.empty_like(out))  # sigmoid' = out (1 - out), built in one array
        slope *= out
        slope *= grad
        return (slope,)


class TanhFunction(Function):
    def forward(self, x):
        out = backend.get_array_module(x).tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * (1 - out * out),)


class Softplus(Function):
    """log(1 + e^(beta x)) / beta, switching to the identity where beta x > threshold (as PyTorch)."""

    def forward(self, x, beta, threshold):
        xp = backend.get_array_module(x)
        self.beta, self.threshold = beta, threshold
        self.save_for_backward(x)
        bx = beta * x
        return xp.where(bx > threshold, x, xp.logaddexp(0, bx) / beta).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved
        xp = backend.get_array_module(x)
        bx = self.beta * x
        slope = xp.where(bx > self.threshold, 1, 0.5 * (xp.tanh(0.5 * bx) + 1)).astype(grad.dtype, copy=False)
        return grad * slope, None, None


def _erf(x):
    """Elementwise error function: SciPy's on the GPU (cupyx), math.erf per element on the CPU.

    NumPy has no erf; gelu is not on any hot path here, so the exact per-element version is preferred
    over an approximation.
    """
    if backend.device_of(x) == "cuda":
        from cupyx.scipy.special import erf
        return erf(x)
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x)).astype(x.dtype)  # asarray: 0-d input gives a float


class GELU(Function):
    """x * Phi(x) (exact, erf-based), or PyTorch's tanh approximation with approximate='tanh'."""

    def forward(self, x, approximate):
        xp = backend.get_array_module(x)
        self.approximate = approximate
        self.save_for_backward(x)
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
            return (0.5 * x * (1 + xp.tanh(inner))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved
        xp = backend.get_array_module(x)
        if self.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            t = xp.tanh(k * (x + 0.044715 * x ** 3))
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        else:
            cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
            pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            slope = cdf + x * pdf
        return grad * slope.astype(grad.dtype, copy=False), None


class Softmax(Function):
    def forward(self, x, dim):
        xp = backend.get_array_module(x)
        self.dim = dim
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return out * (grad - (grad * out).sum(axis=self.dim, keepdims=True)), None


class LogSoftmax(Function):
    def forward(self, x, dim):
        xp = backend.get_array_module(x)
        self.dim = dim
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        xp = backend.get_array_module(out)
        return grad - xp.exp(out) * grad.sum(axis=self.dim, keepdims=True), None


def _float_input(op, x):
    require_float(op, raw(x))
    return x


def relu(x, inplace=False):
    """max(x, 0). (`inplace` is accepted for PyTorch compatibility; the result is always a new array.)"""
    return ReLUFunction.apply(_float_input("relu", x))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    return LeakyReLUFunction.apply(_float_input("leaky_relu", x), negative_slope)


def sigmoid(x):
    return SigmoidFunction.apply(_float_input("sigmoid", x))


def tanh(x):
    return TanhFunction.apply(_float_input("tanh", x))


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(_float_input("softplus", x), beta, threshold)


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float_input("gelu", x), approximate)


def softmax(x, dim):
    """exp(x) / sum(exp(x)) along dim (computed after subtracting the max, so it cannot overflow)."""
    return Softmax.apply(_float_input("softmax", x), normalize_dim("softmax", dim, raw(x).ndim))


def log_softmax(x, dim):
    """log(softmax(x)) along dim, computed stably as x - max - log(sum(exp(x - max)))."""
    return LogSoftmax.apply(_float_input("log_softmax", x), normalize_dim("log_softmax", dim, raw(x).ndim))
