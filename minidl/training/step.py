"""One training step the textbook way: forward, loss and backward of the whole batch; and the plain forward."""
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor


def train_step(model, x, y, loss_fn):
    """Forward and backward of loss_fn(model(x), y), gradients added to each parameter's `.grad`.
    Returns (loss, logits) as raw arrays."""
    logits = model(_tensor(x))
    loss = loss_fn(logits, _tensor(y))
    loss.backward()
    return loss.data, logits.data


def forward(model, x):
    """model(x) without a graph; returns the raw output array."""
    with no_grad():
        return model(_tensor(x)).data


def _tensor(value):
    return value if isinstance(value, Tensor) else Tensor._wrap(value)
