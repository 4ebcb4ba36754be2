"""SGD's momentum update of a GPU parameter in one kernel (minidl/kernels/sgd.py) instead of 6-7 array ops.

minidl/fast.py plugs `fused_update` into the seam "sgd_update"; it computes optim/sgd.py's update
(tests/kernels, tests/stand_in).
"""
import numpy as np

from .. import backend
from ..kernels import sgd as sgd_kernels


def fused_update(p, state, lr, momentum, dampening, weight_decay, nesterov):
    """Update p and its momentum buffer in one kernel and return True where that applies (a GPU parameter with
    momentum, in a layout the kernel takes); return False, touching nothing, elsewhere."""
    if state is None or backend.get_array_module(p.data) is np or \
            not sgd_kernels.fusable(p.data, p.grad, state.get("momentum_buffer")):
        return False
    state["momentum_buffer"] = sgd_kernels.sgd_momentum_step(
        p.data, p.grad, state.get("momentum_buffer"), lr, momentum, dampening, weight_decay, nesterov)
    return True
