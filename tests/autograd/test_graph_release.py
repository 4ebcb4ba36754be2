"""After backward the graph lets go of its intermediate tensors (and their arrays), even while the caller
still holds the loss; retain_graph=True keeps them for a second backward."""
import gc
import weakref

import numpy as np
import pytest

import minidl


def _graph():
    x = minidl.tensor(np.ones(4), requires_grad=True)
    h = x * 2.0
    loss = h.exp().sum()
    return x, weakref.ref(h), loss


def test_intermediates_are_freed_after_backward_while_the_loss_is_held():
    x, h, loss = _graph()
    assert h() is not None  # held by the graph until backward
    loss.backward()
    gc.collect()
    assert h() is None and np.allclose(x.grad, 2 * np.exp(2.0))
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_retain_graph_keeps_them():
    x, h, loss = _graph()
    loss.backward(retain_graph=True)
    assert h() is not None
    loss.backward()
    assert np.allclose(x.grad, 4 * np.exp(2.0))
