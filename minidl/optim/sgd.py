"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay.

The update is exactly torch.optim.SGD's, for each parameter p with gradient g:
    g = g + weight_decay * p
    buf = g on the first step, then buf = momentum * buf + (1 - dampening) * g
    g = g + momentum * buf  (Nesterov)  or  g = buf  (classical momentum)
    p = p - lr * g
"""
from .. import seams
from .optimizer import Optimizer


def _not_fused(*args):
    return False


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if value < 0:
                raise ValueError(f"SGD: invalid {name} {value} (expected >= 0)")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum "
                             f"{momentum} and dampening {dampening}")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov))

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place; returns the closure's loss if one is given."""
        loss = self._evaluate(closure)
        fused_update = seams.choose("sgd_update", _not_fused)  # fast path: one GPU kernel (optim/_sgd_fast.py)
        for group in self.param_groups:
            # Python floats keep float32 arrays float32; NumPy float64 scalars (from a schedule) would promote.
            lr, momentum, dampening = float(group["lr"]), float(group["momentum"]), float(group["dampening"])
            weight_decay, nesterov = float(group["weight_decay"]), group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {}) if momentum != 0 else None
                if fused_update(p, state, lr, momentum, dampening, weight_decay, nesterov):
                    continue
                d_p = p.grad
                if weight_decay != 0:
                    d_p = d_p + weight_decay * p.data
                if momentum != 0:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = d_p.copy()
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * d_p
                    d_p = d_p + momentum * buf if nesterov else buf
                p.data -= lr * d_p
        return loss
