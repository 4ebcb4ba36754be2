"""Launch sgd.cu: a momentum-SGD step of one parameter in one kernel (used by minidl/optim/sgd.py on the GPU)."""
from .. import backend
from . import function, int32, launch
from .elementwise import same_layout


def fusable(p, grad, buf):
    """True when the kernel can update p in place: one layout for p, grad and buf (it walks them flat)."""
    return same_layout(p, grad) and (buf is None or same_layout(p, buf))


def sgd_momentum_step(p, grad, buf, lr, momentum, dampening, weight_decay, nesterov):
    """Update p and the momentum buffer in place (buf None on the first step: it starts as the gradient).
    Scalars are rounded to p's dtype as NumPy does with Python floats, so the CPU emulation matches SGD.step."""
    first = buf is None
    if first:
        buf = backend.get_array_module(p).empty_like(p)
    real = p.dtype.type
    launch(function("sgd", "sgd_momentum_step", p), p.size,
           (p, grad, buf, *int32(p.size), real(lr), real(momentum), real(1 - dampening), real(weight_decay),
            *int32(int(nesterov), int(first))))
    return buf
