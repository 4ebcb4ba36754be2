"""linear(x, weight, bias) = x @ weight.T + bias, as one op (one GEMM forward, two backward)."""
from ..autograd.function import Function
from ._util import raw, require_float


class LinearFunction(Function):
    def forward(self, x, weight, bias):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, grad):
        x, weight = self.saved
        g2 = grad.reshape(-1, grad.shape[-1])
        gx = (grad @ weight) if self.needs_input_grad[0] else None
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if self.needs_input_grad[1] else None
        gb = g2.sum(axis=0) if self.has_bias and self.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x, weight, bias=None):
    """Affine map of the last dimension: (..., in) -> (..., out) with weight (out, in) and bias (out,)."""
    a, w = raw(x), raw(weight)
    require_float("linear", a)
    if w.ndim != 2 or a.ndim < 1 or a.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input of shape {a.shape} needs weight of shape (out_features, {a.shape[-1] if a.ndim else '?'}), "
                         f"got weight of shape {w.shape}")
    if bias is not None and raw(bias).shape != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w.shape[0]},), got {raw(bias).shape}")
    if a.dtype != w.dtype:
        raise TypeError(f"linear: input dtype {a.dtype} and weight dtype {w.dtype} differ; convert one with .to(dtype=...)")
    return LinearFunction.apply(x, weight, bias)


