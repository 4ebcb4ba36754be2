"""Stop a run whose numbers left the finite range before anything is written from them, saying where and why.

The data is checked once when it is loaded (non-finite images are refused there), so a NaN or infinity
met later comes from the optimisation itself: the learning rate or momentum is too large for the net.
"""
import math

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


def check_epoch(metrics, epoch, opt, model):
    """(mean loss, accuracy) so far; TrainingDiverged naming the first step whose loss was NaN or infinite,
    or the epoch's last step if it left NaN or inf in the weights."""
    train_loss, train_acc, bad_step, weights_finite = metrics.read()
    if bad_step is not None:
        raise TrainingDiverged(f"train: the loss became NaN or infinite at epoch {epoch}, step {bad_step} "
                               f"{likely_cause(opt)}")
    if not weights_finite:
        raise TrainingDiverged(f"train: the weights became NaN or infinite at epoch {epoch}, step {metrics.steps} "
                               f"(the epoch's last; first in {first_non_finite(model)}) {likely_cause(opt)}")
    return train_loss, train_acc


def check_test_loss(loss, epoch, steps, opt):
    if not math.isfinite(loss):
        raise TrainingDiverged(f"train: the test loss became NaN or infinite after epoch {epoch} (step {steps}, "
                               f"its last) {likely_cause(opt)}")


def where_kept(checkpoint, saved, what):
    """Where the run's last good state is, for the message of a run that stopped early."""
    if checkpoint is None:
        return ""
    if saved is None:
        return f"; no epoch was saved to {checkpoint}"
    return f"; {checkpoint} keeps epoch {saved}, the last {what} one"
