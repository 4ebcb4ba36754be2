"""Losses: cross_entropy (with label smoothing), nll_loss, mse_loss."""
from .. import backend, device_checks
from ..autograd.function import Function
from ._util import raw, require_float

_REDUCTIONS = ("mean", "sum", "none")


def _class_last(x):
    """(N, C, d1, ...) -> (N*d1*..., C): losses work on rows of class scores."""
    xp = backend.get_array_module(x)
    if x.ndim == 2:
        return x
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


class CrossEntropy(Function):
    """Fused log_softmax + negative log-likelihood, with label smoothing.

    With smoothing e the target distribution is q = (1 - e) one_hot(t) + e / C, the loss is
    -sum_c q_c log p_c, and its gradient with respect to the logits is simply softmax(x) - q.
    """

    def forward(self, logits, target, smoothing, reduction):
        xp = backend.get_array_module(logits)
        self.shape, self.reduction = logits.shape, reduction
        x = _class_last(logits)
        t = target.reshape(-1)
        shifted = x - x.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        rows = xp.arange(len(t))
        losses = -log_p[rows, t] * (1 - smoothing)
        if smoothing:
            losses = losses - log_p.mean(axis=1) * smoothing
        self.save_for_backward(log_p, t)
        self.smoothing = smoothing
        out_shape = target.shape
        return _reduce(losses.reshape(out_shape), reduction)

    def backward(self, grad):
        log_p, t = self.saved
        xp = backend.get_array_module(log_p)
        n, classes = log_p.shape
        dx = xp.exp(log_p)
        if self.smoothing:
            dx -= self.smoothing / classes
        dx[xp.arange(n), t] -= 1 - self.smoothing
        if self.reduction == "none":
            dx *= grad.reshape(-1, 1)
        else:
            dx *= grad / n if self.reduction == "mean" else grad
        if len(self.shape) > 2:
            moved = (self.shape[0],) + self.shape[2:] + (self.shape[1],)
            dx = xp.moveaxis(dx.reshape(moved), -1, 1)
        return dx, None, None, None


class NLLLoss(Function):
    def forward(self, log_p, target, reduction):
        xp = backend.get_array_module(log_p)
        self.shape, self.reduction = log_p.shape, reduction
        rows = _class_last(log_p)
        t = target.reshape(-1)
        self.t = t
        return _reduce(-rows[xp.arange(len(t)), t].reshape(target.shape), reduction)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        n, classes = len(self.t), self.shape[1]
        dx = xp.zeros((n, classes), dtype=grad.dtype)
        scale = grad.reshape(-1) if self.reduction == "none" else (grad / n if self.reduction == "mean" else grad)
        dx[xp.arange(n), self.t] = -scale
        if len(self.shape) > 2:
            moved = (self.shape[0],) + self.shape[2:] + (self.shape[1],)
            dx = xp.moveaxis(dx.reshape(moved), -1, 1)
        return dx, None, None


class MSELoss(Function):
    def forward(self, x, target, reduction):
        self.reduction, self.count = reduction, x.size
        diff = x - target
        self.save_for_backward(diff)
        return _reduce(diff * diff, reduction)

    def backward(self, grad):
        (diff,) = self.saved
        g = grad * 2 * diff
        if self.reduction == "mean":
            g = g / diff.dtype.type(self.count)
        return g, -g


def _check_targets(op, logits, target):
    """Validate (N, C, ...) scores against integer targets (N, ...) in [0, C)."""
    x, t = raw(logits), raw(target)
    require_float(op, x, "input (scores)")
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C) or (N, C, d1, ...), got shape {x.shape}")
    if not hasattr(t, "dtype") or t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must be an integer class-index array or Tensor, got "
                        f"{getattr(t, 'dtype', type(t).__name__)}")
    expected = (x.shape[0],) + x.shape[2:]
    if t.shape != expected:
        raise ValueError(f"{op}: target has shape {t.shape}, expected {expected} for input of shape {x.shape}")
    classes = x.shape[1]
    if not t.size:
        return t
    if backend.device_of(t) == "cuda":  # reading min and max would stall the GPU once per step
        device_checks.defer(((t < 0) | (t >= classes)).any(), IndexError,
                            f"{op}: target values must lie in [0, {classes}) for {classes} classes; targets of "
                            f"shape {t.shape} on the GPU had values outside")
    elif int(t.min()) < 0 or int(t.max()) >= classes:
        raise IndexError(f"{op}: target values must lie in [0, {classes}) for {classes} classes, got "
                         f"min {int(t.min())} and max {int(t.max())}")
    return t


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def cross_entropy(input, target, label_smoothing=0.0, reduction="mean"):
    """Softmax cross-entropy of class scores (N, C[, ...]) against integer targets (N[, ...])."""
    t = _check_targets("cross_entropy", input, target)
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    return CrossEntropy.apply(input, t, float(label_smoothing), reduction)


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of log-probabilities (N, C[, ...]) at integer targets."""
    t = _check_targets("nll_loss", input, target)
    _check_reduction("nll_loss", reduction)
    return NLLLoss.apply(input, t, reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean (or summed) squared error; shapes must match exactly, as PyTorch warns otherwise."""
    a, b = raw(input), raw(target)
    if a.shape != b.shape:
        raise ValueError(f"mse_loss: input shape {a.shape} and target shape {b.shape} must be equal")
    _check_reduction("mse_loss", reduction)
    return MSELoss.apply(input, target, reduction)
