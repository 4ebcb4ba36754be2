"""The GPU's random generator (CuPy's RandomState) with a state that a checkpoint can save and restore.

CuPy's RandomState cannot report its state, so this one keeps its seed and a log of what it has drawn
(shape and dtype of each draw, consecutive equal draws counted once): restoring re-seeds and draws the
same amounts again, which puts the generator exactly where it was. Draws of alternating shapes (dropout
layers of different sizes) would lengthen the log with every draw, so once it holds MAX_LOG entries the
generator moves on to a new seed derived from the current one and starts an empty log: the state stays
small, and replaying it draws at most MAX_LOG runs of equal draws.
"""
import numpy as np

MAX_LOG = 32  # entries of the draw log before the generator re-seeds


class DeviceRandom:
    """Uniform draws on the GPU from a seeded CuPy RandomState, replayable from `state()`."""

    def __init__(self, cp, seed=None, draws=()):
        if seed is None:  # unseeded: pick one now, so that the state can still be saved and restored
            seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
        self.seed, self.draws = int(seed), []
        self._generator = cp.random.RandomState(self.seed)
        for shape, dtype, count in draws:
            for _ in range(count):
                self.random_sample(tuple(shape), np.dtype(dtype))

    def random_sample(self, shape, dtype=np.float64):
        """Uniform numbers in [0, 1) of `shape` and `dtype` (float32 or float64), on the current GPU."""
        shape, dtype = tuple(int(n) for n in shape), np.dtype(dtype)
        if self.draws and self.draws[-1][:2] == [list(shape), dtype.name]:
            self.draws[-1][2] += 1
        else:
            if len(self.draws) == MAX_LOG:
                self._reseed()
            self.draws.append([list(shape), dtype.name, 1])
        return self._generator.random_sample(shape, dtype=dtype)

    def _reseed(self):
        """Continue from a seed derived from the current one, with an empty log."""
        self.seed = int(np.random.SeedSequence(self.seed).generate_state(1, np.uint32)[0])
        self.draws = []
        self._generator.seed(self.seed)

    def state(self):
        """A JSON-ready dict from which `DeviceRandom(cp, **state)` rebuilds this generator exactly."""
        return {"seed": self.seed, "draws": [list(d) for d in self.draws]}
