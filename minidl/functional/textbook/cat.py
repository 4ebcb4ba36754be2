"""Concatenation along one dimension, the textbook way: each input is copied into its slice of the output.

    y = [x_1 | x_2 | ... | x_k] along dim,     dx_i = dy[the slice of x_i]
"""
from ... import backend
from . import TextbookFunction


def _slice(dim, start, stop):
    """An index that takes positions start..stop-1 of dimension `dim` and everything of the others."""
    return (slice(None),) * dim + (slice(start, stop),)


class TextbookCat(TextbookFunction):
    op = "cat"

    def forward(self, dim, *arrays):
        xp = backend.get_array_module(*arrays)
        shape = list(arrays[0].shape)
        shape[dim] = sum(a.shape[dim] for a in arrays)
        y = xp.empty(shape, dtype=arrays[0].dtype)
        self.spans, start = [], 0
        for a in arrays:
            self.spans.append(_slice(dim, start, start + a.shape[dim]))
            y[self.spans[-1]] = a
            start += a.shape[dim]
        return y

    def backward(self, grad):
        return (None, *(grad[span] for span in self.spans))
