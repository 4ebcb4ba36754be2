"""An epoch's running loss and accuracy, summed where the batches live, read back once per epoch.

On a GPU, reading a number back (`loss.item()`) makes the host wait until the GPU has finished every
queued op, so a loop that prints its loss at each step runs the GPU in lock-step with Python. Here
the sums stay device arrays and are read when the epoch ends; the first step with a non-finite loss is
recorded on the device too. On the CPU the sums are plain arrays and can be shown after every step.
"""
from .. import backend


class EpochMetrics:
    """Sums of loss * batch size and of correct predictions, plus the first step whose loss was NaN/inf."""

    def __init__(self):
        self.seen = 0  # images so far: batch sizes are known on the host
        self._sums = None  # [loss sum, correct, first bad step (0: none)] as one float64 array

    def add(self, step, loss, logits, target):
        """Add one step: its mean loss (0-d array), logits (N, C) and integer targets (N,), all on one device."""
        xp = backend.get_array_module(loss)
        n = len(target)
        self.seen += n
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

    def read(self):
        """(mean loss, accuracy, first non-finite step or None): one host synchronisation on a GPU."""
        if self._sums is None:
            return 0.0, 0.0, None
        loss_sum, correct, first_bad = (float(v) for v in backend.to_device(self._sums, "cpu"))
        return loss_sum / self.seen, correct / self.seen, int(first_bad) or None
