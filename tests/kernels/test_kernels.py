"""Each CUDA kernel against the NumPy path it replaces: on the CPU emulation always, on a GPU where one exists.

Copies and max-pooling must agree exactly; sums to rounding (float64 to 1e-12, float32 to 2e-5).
"""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.functional import _conv_gpu, _conv_im2col
from minidl.functional._channels import ChannelView
from minidl.functional._norm_fast import batch_norm_backward, batch_statistics
from minidl.functional.norm import update_running_stats
from minidl.kernels import batch_norm, elementwise, pool, sgd
from minidl.kernels.im2col import col2im, im2col

DTYPES = [np.float64, np.float32]
# (x shape NHWC, weight shape, stride, pads (top, bottom, left, right), dilation, groups)
CONVS = [((2, 6, 7, 3), (4, 3, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
         ((2, 7, 6, 4), (6, 2, 3, 2), (2, 1), (0, 1, 2, 0), (1, 2), 2),
         ((1, 5, 5, 2), (3, 2, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1),
         ((2, 8, 8, 4), (4, 4, 3, 3), (2, 2), (1, 1, 1, 1), (2, 2), 1)]


def _x_nhwc(rng, shape, dtype, nchw_memory):
    """Random (N, H, W, C) data, its memory NCHW (a transposed view) or NHWC."""
    if nchw_memory:
        n, h, w, c = shape
        return rng.standard_normal((n, c, h, w)).astype(dtype).transpose(0, 2, 3, 1)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nchw_memory", [False, True])
@pytest.mark.parametrize("conv", CONVS)
def test_im2col_equals_numpy(target, rng, conv, nchw_memory, dtype):
    x = _x_nhwc(rng, conv[0], dtype, nchw_memory)
    geo = _conv_im2col.Geometry(x, *conv[1:])
    expected = _conv_im2col._im2col(x, geo).copy()
    np.testing.assert_array_equal(target.get(im2col(target.put(x), geo)), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conv", CONVS)
def test_col2im_matches_numpy(target, rng, conv, dtype):
    x_shape, w_shape, stride, pads, dilation, groups = conv
    x = rng.standard_normal(x_shape).astype(dtype)
    geo = _conv_im2col.Geometry(x, w_shape, stride, pads, dilation, groups)
    w = _conv_im2col._weight_matrix(rng.standard_normal(w_shape).astype(dtype), geo)
    grad_y = rng.standard_normal((groups, geo.n * geo.ho * geo.wo, geo.o // groups)).astype(dtype)
    grad_pad = np.zeros((geo.n, geo.hp, geo.wp, geo.c), dtype)
    _conv_im2col._col2im(grad_y, w, geo, grad_pad)
    expected = grad_pad[:, geo.top:geo.top + geo.h, geo.left:geo.left + geo.w]
    grad_cols = grad_y @ w.transpose(0, 2, 1)
    np.testing.assert_allclose(target.get(col2im(target.put(grad_cols), geo)), expected, **target.tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conv", CONVS)
def test_gpu_conv_path_matches_cpu_path(target, rng, conv, dtype):
    """im2col + GEMM forward, col2im and weight gradient: _conv_gpu against the CPU's im2col path."""
    x_shape, w_shape, stride, pads, dilation, groups = conv
    x, w = _x_nhwc(rng, x_shape, dtype, True), rng.standard_normal(w_shape).astype(dtype)
    y, saved = _conv_im2col.forward(x, w, stride, pads, dilation, groups, keep_input=True)
    grad = rng.standard_normal(y.shape).astype(dtype)
    expected = [y.copy(), *_conv_im2col.backward(grad, saved, True, True)]
    y, saved = _conv_gpu.forward(target.put(x), target.put(w), stride, pads, dilation, groups, keep_input=True)
    got = [y, *_conv_gpu.backward(target.put(grad), saved, True, True)]
    for result, reference in zip(got, expected):
        np.testing.assert_allclose(target.get(result), reference, **target.tolerance(dtype))


POOLS = [((3, 3), (2, 2), (1, 1)), ((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 0))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("kernel, stride, padding", POOLS)
def test_max_pool_equals_numpy(target, rng, kernel, stride, padding, channels_last, dtype):
    """Values, winners (first maximum on ties, NaN wins) and the gradient, bit for bit."""
    x = rng.integers(-3, 4, (2, 3, 7, 6)).astype(dtype)  # few distinct values: many ties
    x[0, 0, 1, 1] = x[1, 2, 4, 3] = np.nan
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    tensor = minidl.Tensor(x, requires_grad=True)
    out = F.max_pool2d(tensor, kernel, stride, padding)
    grad = rng.standard_normal(out.shape).astype(dtype)
    index = out._ctx.saved[0]
    out.backward(grad)
    best, got_index = pool.max_pool2d_forward(target.put(x), kernel, stride, padding, out.shape[2:], channels_last)
    np.testing.assert_array_equal(target.get(best), out.data)
    np.testing.assert_array_equal(target.get(got_index), index)
    grad_x = pool.max_pool2d_backward(target.put(grad), got_index, x.shape, kernel, stride, padding, channels_last)
    np.testing.assert_array_equal(target.get(grad_x), tensor.grad)
    assert (grad_x.strides[1] < grad_x.strides[3]) == channels_last  # on the device: .get() may reorder


BN_INPUTS = {"nchw": lambda rng: rng.standard_normal((4, 3, 5, 6)),
             "channels_last": lambda rng: np.ascontiguousarray(
                 rng.standard_normal((4, 5, 6, 3)).transpose(0, 3, 1, 2)),
             "matrix": lambda rng: rng.standard_normal((37, 5))}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("layout", sorted(BN_INPUTS))
def test_batch_norm_matches_numpy(target, rng, layout, affine, dtype):
    x = (3 + 2 * BN_INPUTS[layout](rng)).astype(dtype)
    c = x.shape[1]
    weight, bias = (rng.standard_normal(c).astype(dtype) for _ in range(2)) if affine else (None, None)
    view = ChannelView(x)
    mean, var, inv_std, scale, centred, _ = batch_statistics(view, view.matrix(x), weight, 1e-5)
    out = view.array(centred * view.expand(scale) + (view.expand(bias) if affine else 0))
    grad = rng.standard_normal(x.shape).astype(dtype)
    g_x, g_weight, g_bias = batch_norm_backward(view, view.matrix(grad), centred, inv_std, scale, True)
    expected = [out, mean, var, inv_std, scale, view.array(g_x), g_weight, g_bias]

    put = [target.put(a) if a is not None else None for a in (x, weight, bias, grad)]
    device_view = ChannelView(put[0])
    got = list(batch_norm.forward(device_view, put[0], put[1], put[2], 1e-5))
    got += batch_norm.backward(device_view, put[3], put[0], got[1], got[3], got[4], need_x=True)
    for result, reference in zip(got, expected):
        np.testing.assert_allclose(target.get(result), reference, **target.tolerance(dtype))
    assert got[0].strides == out.strides


def test_batch_norm_statistics_survive_a_large_mean(target, rng):
    """float32 data with mean 1e4 and spread 1: E[x^2] - E[x]^2 would lose every digit; two passes keep them."""
    x = (1e4 + rng.standard_normal((64, 2, 8, 8))).astype(np.float32)
    true_var = x.astype(np.float64).var(axis=(0, 2, 3))
    device_x = target.put(x)
    _, _, var, _, _ = batch_norm.forward(ChannelView(device_x), device_x, None, None, 1e-5)
    np.testing.assert_allclose(target.get(var), true_var, rtol=1e-3)


def _elementwise_operands(rng, dtype, count, channels_last):
    shape = (2, 3, 4, 5)
    arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(count)]
    if channels_last:
        arrays = [np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) for a in arrays]
    return arrays


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_elementwise_chains_match_numpy(target, rng, dtype, channels_last):
    a, b, c, g = _elementwise_operands(rng, dtype, 4, channels_last)
    t = 1 / (1 + np.exp(-a))
    cases = [
        (elementwise.add_relu, (a, b), [np.maximum(a + b, 0)]),
        (elementwise.relu_backward, (g, np.maximum(a, 0)), [g * (a > 0)]),
        (elementwise.highway_combine, (t, b, c), [t * b + (1 - t) * c]),
        (elementwise.highway_combine_backward, (g, t, b, c), [g * b - g * c, g * t, g * (1 - t)]),
    ]
    for kernel, inputs, expected in cases:
        results = kernel(*[target.put(x) for x in inputs])
        results = results if isinstance(results, tuple) else (results,)
        for result, reference in zip(results, expected):
            np.testing.assert_allclose(target.get(result), reference, **target.tolerance(dtype))
            assert result.strides == reference.strides  # on the device: .get() may reorder


@pytest.mark.parametrize("dtype", DTYPES)
def test_update_running_stats_matches_numpy(target, rng, dtype):
    running = [rng.standard_normal(5).astype(dtype), rng.random(5).astype(dtype) + 0.5]
    stats = {"mean": rng.standard_normal(5).astype(dtype), "var": rng.random(5).astype(dtype)}
    expected = [r.copy() for r in running]
    update_running_stats(*expected, dict(stats, count=37), 0.1)
    got = [target.put(r) for r in running]
    batch_norm.update_running_stats(*got, {k: target.put(v) for k, v in stats.items()}, 0.1, 37)
    for result, reference in zip(got, expected):
        np.testing.assert_allclose(target.get(result), reference, **target.tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(momentum=0.9, weight_decay=5e-4), dict(momentum=0.9, nesterov=True),
                                     dict(momentum=0.5, dampening=0.3, weight_decay=0.1)])
def test_sgd_step_matches_numpy(target, rng, options, dtype):
    """Three steps (the first one starts the momentum buffer) of the kernel against SGD.step on the CPU."""
    data = rng.standard_normal((4, 3, 2)).astype(dtype)
    grads = [rng.standard_normal(data.shape).astype(dtype) for _ in range(3)]
    param = minidl.nn.Parameter(data.copy())
    opt = minidl.optim.SGD([param], lr=0.1, **options)
    p, buf = target.put(data.copy()), None
    for grad in grads:
        param.grad = grad
        opt.step()
        buf = sgd.sgd_momentum_step(p, target.put(grad), buf, 0.1, options["momentum"], options.get("dampening", 0),
                                    options.get("weight_decay", 0), options.get("nesterov", False))
        np.testing.assert_allclose(target.get(p), param.data, **target.tolerance(dtype))
    np.testing.assert_allclose(target.get(buf), opt.state[param]["momentum_buffer"], **target.tolerance(dtype))
