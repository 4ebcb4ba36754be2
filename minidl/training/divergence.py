"""Stop a run whose numbers left the finite range before anything is written from them, saying where and why.

The data is checked once when it is loaded (non-finite images are refused there), so a NaN or infinity
met later comes from the optimisation itself: the learning rate or momentum is too large for the net.
"""
import numpy as np

from .. import backend
from ..autograd.tensor import Tensor

_CHUNK = 1024  # images checked at a time: no full-size boolean copy of a large data set


class TrainingDiverged(FloatingPointError):
    """The loss, the weights or the test loss became NaN or infinite; `history` holds the epochs finished before."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


def check_finite_data(name, array):
    """Refuse a floating array of images (or labels) holding NaN or inf, naming the first such row."""
    array = np.asarray(backend.to_device(array.data if isinstance(array, Tensor) else array, "cpu"))
    if array.dtype.kind not in "fc":
        return
    for start in range(0, len(array), _CHUNK):
        rows = np.isfinite(array[start:start + _CHUNK]).reshape(min(_CHUNK, len(array) - start), -1).all(1)
        if not rows.all():
            count = sum(int((~np.isfinite(array[s:s + _CHUNK])).sum()) for s in range(start, len(array), _CHUNK))
            first = start + int(np.flatnonzero(~rows)[0])
            raise ValueError(f"train: {name} holds {count} NaN or infinite values (the first in row {first}); "
                             "replace or drop those rows before training")


def all_finite(model):
    """A 0-d boolean array, on the model's device: are all its parameters and buffers finite? (No host read.)"""
    checks = [backend.get_array_module(t.data).isfinite(t.data).all() for t in model.state_dict().values()]
    if not checks:
        return np.array(True)
    xp = backend.get_array_module(checks[0])
    return xp.stack(checks).all()


def first_non_finite(model):
    """The name of the first parameter or buffer holding NaN or inf (reads every check back: only for the message)."""
    for name, tensor in model.state_dict().items():
        if not bool(backend.get_array_module(tensor.data).isfinite(tensor.data).all()):
            return name
    return None


def likely_cause(opt):
    """The optimiser settings to lower, with their values."""
    group = opt.param_groups[0]
    lr, momentum = group.get("initial_lr", group["lr"]), group.get("momentum") or 0  # lr before the schedule
    settings = f"lr {lr:.4g}" + (f", momentum {momentum:.4g}" if momentum else "")
    knobs = "learning rate or momentum" if momentum >= 1 else "learning rate"
    return f"({settings}); lower the {knobs}, or add warm-up (warmup_epochs)"
