"""Launch sgd.cu: a momentum-SGD step of one parameter in one kernel (used by minidl/optim/sgd.py on the GPU)."""
from .. import backend
from . import cast, function, int32, launch
from .elementwise import same_layout


def fusable(p, grad, buf):
    """True when the kernel can update p in place: one layout for p, grad and buf (it walks them flat)."""
    return same_layout(p, grad) and (buf is None or same_layout(p, buf))


def sgd_momentum_step(p, grad, buf, lr, momentum, dampening, weight_decay, nesterov):
    """Update p and the momentum buffer in place (buf None on the first step: it starts as the gradient).
    The gradient and the scalars are rounded to p's dtype, as NumPy's in-place update of p rounds them."""
    first = buf is None
    if first:
        buf = backend.get_array_module(p).empty_like(p)
    (grad,) = cast(p.dtype, grad)
    if not fusable(p, grad, buf):
        raise TypeError(f"sgd_momentum_step: the parameter ({p.shape}, {p.dtype}), its gradient {grad.shape} and "
                        f"momentum buffer ({buf.shape}, {buf.dtype}) need one shape, dtype and memory layout")
    real = p.dtype.type
    launch(function("sgd", "sgd_momentum_step", p), p.size,
           (p, grad, buf, *int32(p.size), real(lr), real(momentum), real(1 - dampening), real(weight_decay),
            *int32(int(nesterov), int(first))))
    return buf
