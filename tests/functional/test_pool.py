"""max_pool2d, avg_pool2d, adaptive_avg_pool2d: against the package's textbook ops, gradchecks, exact ties,
dtypes, bad input, GPU."""
import math

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck


def as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def textbook_max(x, kernel, stride=None, padding=0):
    """The package's plain version (minidl/functional/textbook/pool.py), which the fast pools must reproduce."""
    with minidl.textbook_ops():
        return F.max_pool2d(x, kernel, stride, padding).data


def textbook_avg(x, kernel, stride=None, padding=0, count_include_pad=True):
    with minidl.textbook_ops():
        return F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad).data


def textbook_adaptive(x, out):
    with minidl.textbook_ops():
        return F.adaptive_avg_pool2d(x, out).data


def distinct(rng, *shape):
    """float64 data without ties: a permutation of well-separated values, so eps=1e-6 cannot reorder them."""
    return minidl.Tensor(rng.permutation(np.arange(math.prod(shape))).reshape(shape) * 0.1 + 0.05,
                         requires_grad=True)


WINDOWS = [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0)), (1, None, 0), (3, 3, 0), (4, 2, 2)]
WINDOW_IDS = [f"k{k}-s{s}-p{p}".replace(" ", "") for k, s, p in WINDOWS]


@pytest.mark.parametrize("kernel, stride, padding", WINDOWS, ids=WINDOW_IDS)
def test_max_pool_forward_and_gradcheck(rng, kernel, stride, padding):
    x = distinct(rng, 2, 3, 7, 9)
    out = F.max_pool2d(x, kernel, stride, padding)
    np.testing.assert_array_equal(out.data, textbook_max(x.data, kernel, stride, padding))
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [x], max_elements=80)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("kernel, stride, padding", WINDOWS, ids=WINDOW_IDS)
def test_avg_pool_forward_and_gradcheck(t64, kernel, stride, padding, count_include_pad):
    x = t64(2, 3, 7, 9)
    out = F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad)
    expected = textbook_avg(x.data, kernel, stride, padding, count_include_pad)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad), [x],
                     max_elements=80)


@pytest.mark.parametrize("size, out", [((7, 7), 1), ((7, 7), 3), ((7, 9), (3, 4)), ((6, 8), (2, 4)),
                                       ((5, 6), (7, 9)), ((7, 9), (None, 2))])
def test_adaptive_avg_pool_forward_and_gradcheck(t64, size, out):
    x = t64(2, 3, *size)
    result = F.adaptive_avg_pool2d(x, out)
    resolved = tuple(s if o is None else o for s, o in zip(size, as_pair(out)))
    np.testing.assert_allclose(result.data, textbook_adaptive(x.data, resolved), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, out), [x], max_elements=80)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    """Constant input: every window's maximum is tied; PyTorch routes each window's gradient to its first element."""
    x = minidl.Tensor(np.zeros((1, 1, 4, 5)), requires_grad=True)
    F.max_pool2d(x, 2, stride=1).backward(np.ones((1, 1, 3, 4)))
    expected = np.zeros((4, 5))
    expected[:3, :4] = 1  # window (i, j) starts at (i, j) and picks it
    np.testing.assert_array_equal(x.grad[0, 0], expected)

    y = minidl.Tensor(np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0]]]]), requires_grad=True)
    F.max_pool2d(y, (2, 3)).backward(np.full((1, 1, 1, 1), 2.0))
    np.testing.assert_array_equal(y.grad[0, 0], [[0, 2, 0], [0, 0, 0]])


def test_max_pool_ties_with_padding_and_overlap():
    """Padding (-inf) never wins; overlapping windows that pick the same element add up."""
    x = minidl.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    np.testing.assert_array_equal(out.data, np.ones((1, 1, 2, 2)))
    out.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(x.grad[0, 0], [[4, 0], [0, 0]])  # every window's first real element is (0, 0)


def test_max_pool_propagates_nan():
    x = np.array([[[[1.0, np.nan], [3.0, 2.0]]]])
    assert np.isnan(F.max_pool2d(x, 2).data).all()


@pytest.mark.parametrize("pool", ["max", "avg", "adaptive1", "adaptive3"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(rng, pool, dtype):
    x = minidl.Tensor(rng.standard_normal((2, 3, 7, 7)).astype(dtype), requires_grad=True)
    fn = {"max": lambda x: F.max_pool2d(x, 3, 2, 1), "avg": lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
          "adaptive1": lambda x: F.adaptive_avg_pool2d(x, 1), "adaptive3": lambda x: F.adaptive_avg_pool2d(x, 3)}[pool]
    out = fn(x)
    out.backward(np.ones(out.shape, dtype))
    assert out.dtype == x.grad.dtype == dtype
    assert x.grad.shape == x.shape


def test_pools_accept_channels_last_views_from_conv(rng):
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    hidden = F.conv2d(x, w, padding=1).data  # NCHW shape, channels-last memory
    contiguous = np.ascontiguousarray(hidden)
    for fn in (lambda a: F.max_pool2d(a, 2), lambda a: F.avg_pool2d(a, 3, 1, 1),
               lambda a: F.adaptive_avg_pool2d(a, 1), lambda a: F.adaptive_avg_pool2d(a, 3)):
        t = minidl.Tensor(hidden, requires_grad=True)
        out = fn(t)
        out.backward(np.ones(out.shape))
        ref = minidl.Tensor(contiguous, requires_grad=True)
        fn(ref).backward(np.ones(out.shape))
        np.testing.assert_allclose(out.data, fn(contiguous).data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(t.grad, ref.grad, rtol=1e-12, atol=1e-12)
        assert t.grad.strides[1] == t.grad.itemsize  # the gradient keeps the input's channels-last layout


BAD = [
    (lambda x: F.max_pool2d(x[0], 2), ValueError, "max_pool2d", "4-D input"),
    (lambda x: F.max_pool2d(x, 0), ValueError, "max_pool2d", "must be positive"),
    (lambda x: F.max_pool2d(x, 2, stride=0), ValueError, "max_pool2d", "must be positive"),
    (lambda x: F.max_pool2d(x, 2, padding=2), ValueError, "max_pool2d", "half the kernel size"),
    (lambda x: F.max_pool2d(x, 3, padding=-1), ValueError, "max_pool2d", "half the kernel size"),
    (lambda x: F.max_pool2d(x, 7), ValueError, "max_pool2d", "larger than the padded input"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)), TypeError, "max_pool2d", "pair of ints"),
    (lambda x: F.max_pool2d(x.astype(np.int32), 2), TypeError, "max_pool2d", "floating-point"),
    (lambda x: F.avg_pool2d(x, 2, padding=(0, 3)), ValueError, "avg_pool2d", "half the kernel size"),
    (lambda x: F.avg_pool2d(x, 2, ceil_mode=True), NotImplementedError, "avg_pool2d", "ceil_mode=True"),
    (lambda x: F.avg_pool2d(x[0, 0], 2), ValueError, "avg_pool2d", "4-D input"),
    (lambda x: F.adaptive_avg_pool2d(x, 0), ValueError, "adaptive_avg_pool2d", "must be positive"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 2, 2)), TypeError, "adaptive_avg_pool2d", "pair of ints"),
    (lambda x: F.adaptive_avg_pool2d(x[0], 2), ValueError, "adaptive_avg_pool2d", "4-D input"),
]


@pytest.mark.parametrize("call, error, op, message", BAD, ids=[f"{b[2]}-{b[3]}" for b in BAD])
def test_bad_input_is_named(call, error, op, message):
    with pytest.raises(error) as info:
        call(np.zeros((1, 2, 5, 5)))
    assert op in str(info.value) and message in str(info.value)


@pytest.mark.gpu
def test_gpu_matches_cpu(rng):
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    pools = [lambda a: F.max_pool2d(a, 3, 2, 1), lambda a: F.avg_pool2d(a, 3, 2, 1, count_include_pad=False),
             lambda a: F.adaptive_avg_pool2d(a, 1), lambda a: F.adaptive_avg_pool2d(a, (3, 2))]
    for pool in pools:
        results = []
        for device in ("cpu", "cuda"):
            t = minidl.Tensor(x, requires_grad=True, device=device)
            out = pool(t)
            out.backward(minidl.Tensor(np.ones(out.shape, np.float32), device=device))
            results.append([minidl.backend.to_device(a, "cpu") for a in (out.data, t.grad)])
        for cpu, gpu in zip(*results):
            np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
