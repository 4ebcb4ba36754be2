"""An epoch's running loss and accuracy, summed where the batches live, read back once per epoch.

On a GPU, reading a number back (`loss.item()`) makes the host wait until the GPU has finished every
queued op, so a loop that prints its loss at each step runs the GPU in lock-step with Python. Here
the sums stay device arrays and are read when the epoch ends; the first step with a non-finite loss, and
whether the weights are finite after the last step, are recorded on the device too. On the CPU the sums
are plain arrays and can be shown after every step.
"""
from .. import backend


class EpochMetrics:
    """Sums of loss * batch size and of correct predictions, plus the first step whose loss was NaN/inf."""

    def __init__(self):
        self.seen = self.steps = 0  # images and steps so far: known on the host
        self._sums = None  # [loss sum, correct, first bad step (0: none)] as one float64 array
        self._weights_finite = None  # a 0-d boolean device array, set by weights_checked()

    def add(self, step, loss, logits, target):
        """Add one step: its mean loss (0-d array), logits (N, C) and integer targets (N,), all on one device."""
        xp = backend.get_array_module(loss)
        n = len(target)
        self.seen, self.steps = self.seen + n, step
        finite = xp.isfinite(loss)
        update = xp.stack([xp.where(finite, loss, 0).astype(xp.float64) * n,
                           (logits.argmax(1) == target).sum().astype(xp.float64),
                           xp.where(finite, 0, step).astype(xp.float64)])
        if self._sums is None:
            self._sums = update
        else:
            first_bad = xp.where(self._sums[2] > 0, self._sums[2], update[2])
            self._sums += update
            self._sums[2] = first_bad

    @property
    def on_host(self):
        """True when the sums are NumPy arrays (reading them is free)."""
        return self._sums is not None and backend.device_of(self._sums) == "cpu"

    def weights_checked(self, finite):
        """Record whether the weights are finite (a 0-d boolean array) to read it with the sums."""
        self._weights_finite = finite

    def read(self):
        """(mean loss, accuracy, first non-finite step or None, weights finite (True when not checked)):
        one host synchronisation on a GPU."""
        if self._sums is None:
            return 0.0, 0.0, None, True
        values = self._sums
        if self._weights_finite is not None:
            xp = backend.get_array_module(values)
            values = xp.concatenate([values, xp.asarray(self._weights_finite, dtype=xp.float64).reshape(1)])
        loss_sum, correct, first_bad, *weights = (float(v) for v in backend.to_device(values, "cpu"))
        weights_finite = bool(weights[0]) if weights else True
        return loss_sum / self.seen, correct / self.seen, int(first_bad) or None, weights_finite
