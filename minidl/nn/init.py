"""Weight initialisation, in place, with torch.nn.init's names, fan computations and gains.

Every random draw comes from the framework's seeded generator (`minidl.manual_seed`) on the CPU in
float32 and is then cast and moved to the tensor's dtype and device, so a model starts from the same
weights whatever its dtype or device. He et al. 2015 (arXiv 1502.01852) and Glorot & Bengio 2010
give the variances: kaiming std = gain / sqrt(fan), xavier std = gain * sqrt(2 / (fan_in + fan_out)).
"""
import math

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through the given nonlinearity."""
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _array(tensor, op):
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not hasattr(array, "shape"):
        raise TypeError(f"{op}: expected a Tensor or an array, got {type(tensor).__name__}")
    return array


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = in_features * kernel area, fan_out = out_features * kernel area (weight shape (out, in, ...))."""
    shape = _array(tensor, "init").shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}")
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    """Write CPU values into the tensor's array in place (cast to its dtype, moved to its device)."""
    array = _array(tensor, "init")
    array[...] = backend.to_device(np.asarray(values).astype(array.dtype, copy=False), backend.device_of(array))
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with draws from U(a, b)."""
    shape = _array(tensor, "uniform_").shape
    draws = backend.rng(np).random(shape, dtype=np.float32)
    return _fill(tensor, draws * np.float32(b - a) + np.float32(a))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with draws from N(mean, std^2)."""
    shape = _array(tensor, "normal_").shape
    draws = backend.rng(np).standard_normal(shape, dtype=np.float32)
    return _fill(tensor, draws * np.float32(std) + np.float32(mean))


def constant_(tensor, val):
    array = _array(tensor, "constant_")
    array[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _fan(tensor, mode)
    if fan == 0:  # a tensor with no elements: nothing to fill, as in PyTorch
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan) (He et al. 2015); `a` is the leaky slope."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al. 2015); `a` is the leaky slope."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix of the tensor flattened to (rows, rest), scaled by gain (Saxe et al. 2013)."""
    array = _array(tensor, "orthogonal_")
    if array.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {array.shape}")
    rows = array.shape[0]
    cols = array.size // rows
    flat = backend.rng(np).standard_normal((rows, cols), dtype=np.float32).astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # makes the decomposition unique, so q is uniformly distributed
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(array.shape))


def default_init_(weight, bias):
    """torch's default for Linear and Conv: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)) for the
    weight, and U(+-1/sqrt(fan_in)) for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
