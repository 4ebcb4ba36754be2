"""Elementwise arithmetic and math (+ - * / ** neg exp log sqrt abs clamp maximum minimum where) and matmul.

Binary ops broadcast like NumPy; each gradient is summed back to its input's shape (`unbroadcast`).
"""
import numpy as np

from .. import backend, seams
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ._util import operands, raw, unbroadcast


def _plain(ufunc, a, b):
    return ufunc(a, b)


def _binary(ufunc, a, b):
    """ufunc(a, b); the fast path picks the output's memory layout (seam "elementwise", functional/_channels.py)."""
    return seams.choose("elementwise", _plain)(ufunc, a, b)


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return _binary(backend.get_array_module(a, b).add, a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return _binary(backend.get_array_module(a, b).subtract, a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        # Each input's gradient needs only the *other* input, so save just what will be used.
        self.save_for_backward(a if self.needs_input_grad[1] else None, b if self.needs_input_grad[0] else None)
        return _binary(backend.get_array_module(a, b).multiply, a, b)

    def backward(self, grad):
        a, b = self.saved
        xp = backend.get_array_module(grad)
        ga = unbroadcast(_binary(xp.multiply, grad, b), self.shapes[0]) if self.needs_input_grad[0] else None
        gb = unbroadcast(_binary(xp.multiply, grad, a), self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved
        ga = unbroadcast(grad / b, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(-grad * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b for tensors a and b; d/da = b a^(b-1), d/db = a^b log a."""

    def forward(self, a, b):
        out = a ** b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad):
        a, b, out = self.saved
        ga = unbroadcast(grad * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            xp = backend.get_array_module(a)
            log_a = xp.log(xp.where(a > 0, a, 1))  # the gradient w.r.t. the exponent is 0 where a <= 0
            gb = unbroadcast(grad * out * log_a, b.shape)
        return ga, gb


class PowScalar(Function):
    """x ** p for a Python number p (the common case: squares, square roots, reciprocals)."""

    def forward(self, x, p):
        self.p = p
        self.save_for_backward(x)
        return x ** p

    def backward(self, grad):
        (x,) = self.saved
        return grad * (self.p * x ** (self.p - 1)), None


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Exp(Function):
    def forward(self, x):
        out = backend.get_array_module(x).exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * out,)


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.get_array_module(x).log(x)

    def backward(self, grad):
        (x,) = self.saved
        return (grad / x,)


class Sqrt(Function):
    def forward(self, x):
        out = backend.get_array_module(x).sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad / (2 * out),)


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.get_array_module(x).abs(x)

    def backward(self, grad):
        (x,) = self.saved
        return (grad * backend.get_array_module(x).sign(x),)


class Clamp(Function):
    """Clip to [low, high]; the gradient passes where low <= x <= high (bounds included, as in PyTorch)."""

    def forward(self, x, low, high):
        xp = backend.get_array_module(x)
        self.save_for_backward(x)
        self.low, self.high = low, high
        return xp.clip(x, low, high)

    def backward(self, grad):
        (x,) = self.saved
        keep = True
        if self.low is not None:
            keep = x >= self.low
        if self.high is not None:
            keep = keep & (x <= self.high)
        return grad * keep, None, None


class Maximum(Function):
    """Elementwise max; at ties each input gets half the gradient (as in PyTorch)."""
    pick = "greater"  # the comparison by which a wins: a > b (Minimum: a < b)

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.save_for_backward(a, b)
        return xp.maximum(a, b) if self.pick == "greater" else xp.minimum(a, b)

    def backward(self, grad):
        a, b = self.saved
        a_wins = getattr(backend.get_array_module(a), self.pick)(a, b)
        share_a = a_wins + 0.5 * (a == b)
        share_a = share_a.astype(grad.dtype, copy=False)
        ga = unbroadcast(grad * share_a, a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(grad * (1 - share_a), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Minimum(Maximum):
    pick = "less"


class Where(Function):
    def forward(self, condition, a, b):
        xp = backend.get_array_module(a)
        self.condition, self.shapes = condition, (a.shape, b.shape)
        return xp.where(condition, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        ga = unbroadcast(backend.get_array_module(grad).where(self.condition, grad, zero), self.shapes[0])
        gb = unbroadcast(backend.get_array_module(grad).where(self.condition, zero, grad), self.shapes[1])
        return None, ga, gb


class MatMul(Function):
    """Batched matrix product with NumPy's rules (1-D operands are promoted, batch dims broadcast)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved
        xp = backend.get_array_module(a)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


class AsType(Function):
    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.dtype), None


class ToDevice(Function):
    def forward(self, x, device):
        self.device = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, grad):
        return backend.to_device(grad, self.device), None

    @classmethod
    def apply(cls, x, device):  # the one op whose input and output live on different devices
        fn = cls()
        out = fn.forward(x.data, device)
        result = Tensor._wrap(out, requires_grad=x.requires_grad and _recording())
        if result.requires_grad:
            fn.parents, fn.needs_input_grad, result._ctx = (x, None), (True, False), fn
        return result


def _recording():
    from ..autograd.grad_mode import is_grad_enabled
    return is_grad_enabled()


def add(a, b):
    """a + b with broadcasting."""
    return Add.apply(*operands("add", a, b))


def sub(a, b):
    """a - b with broadcasting."""
    return Sub.apply(*operands("sub", a, b))


def mul(a, b):
    """a * b with broadcasting."""
    return Mul.apply(*operands("mul", a, b))


def div(a, b):
    """a / b with broadcasting."""
    return Div.apply(*operands("div", a, b))


def pow(a, b):
    """a ** b; a Python-number exponent uses the cheaper PowScalar."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return PowScalar.apply(a, b)
    return Pow.apply(*operands("pow", a, b))


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def clamp(x, min=None, max=None):
    """Clip x to [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min, max)


def maximum(a, b):
    return Maximum.apply(*operands("maximum", a, b))


def minimum(a, b):
    return Minimum.apply(*operands("minimum", a, b))


def where(condition, a, b):
    """Pick a where condition holds, else b (condition is a boolean Tensor or array, never differentiated)."""
    a, b = operands("where", a, b)
    condition = raw(condition)
    from ._util import check_broadcast
    check_broadcast("where", condition.shape, raw(a).shape, raw(b).shape)
    return Where.apply(condition, a, b)


def matmul(a, b):
    """Matrix product with batching and broadcasting (NumPy's @ rules)."""
    sa, sb = raw(a).shape, raw(b).shape
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb}")
    inner_a = sa[-1]
    inner_b = sb[-2] if len(sb) > 1 else sb[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {sa} and {sb} do not align: the last dimension of the first ({inner_a}) "
                         f"must equal the {'second-to-last' if len(sb) > 1 else 'only'} dimension of the second "
                         f"({inner_b})")
    if len(sa) > 2 and len(sb) > 2:
        from ._util import check_broadcast
        check_broadcast("matmul (batch dimensions)", sa[:-2], sb[:-2])
    return MatMul.apply(a, b)


def astype(x, dtype):
    return AsType.apply(x, np.dtype(dtype))


def to_device(x, device):
    return ToDevice.apply(x, device)
