"""The stand-in's `cupy.random`: RandomState drawing with NumPy's legacy generator, results on the device."""
import numpy

from ._array import counter, wrap


class RandomState:
    def __init__(self, seed=None):
        self._state = numpy.random.RandomState(seed)

    def seed(self, seed=None):
        self._state.seed(seed)

    def _draw(self, method, *args, dtype=None, **kwargs):
        counter.launches += 1
        out = getattr(self._state, method)(*args, **kwargs)
        return wrap(numpy.asarray(out) if dtype is None else numpy.asarray(out, dtype=dtype))

    def random_sample(self, size=None, dtype=float):
        return self._draw("random_sample", size, dtype=dtype)

    def rand(self, *size, dtype=float):
        return self._draw("random_sample", size, dtype=dtype)

    def standard_normal(self, size=None, dtype=float):
        return self._draw("standard_normal", size, dtype=dtype)

    def randn(self, *size, dtype=float):
        return self._draw("standard_normal", size, dtype=dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return self._draw("normal", loc, scale, size, dtype=dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return self._draw("uniform", low, high, size, dtype=dtype)

    def randint(self, low, high=None, size=None, dtype=int):
        return self._draw("randint", low, high, size, dtype=dtype)

    def permutation(self, n):
        return self._draw("permutation", n)


_global = None


def get_random_state():
    global _global
    if _global is None:
        _global = RandomState()
    return _global


def seed(seed=None):
    get_random_state().seed(seed)
