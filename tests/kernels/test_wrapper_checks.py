"""What the kernel wrappers do before a launch: operands in another dtype than the kernel's are cast (CuPy
would pass their bare pointers, and the kernel would read doubles out of a float buffer; the emulation
refuses such an argument, so these tests fail where a wrapper forgets), and operands whose offsets the
kernels' 32-bit ints cannot reach are refused."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

from minidl.functional import _conv_im2col
from minidl.functional._channels import ChannelView
from minidl.functional._norm_fast import batch_norm_backward, batch_statistics
from minidl.functional.norm import update_running_stats
import cuda_emulation as emulation
from minidl.kernels import batch_norm, elementwise, im2col, pool, sgd

needs_gxx = pytest.mark.skipif(emulation.compiler() is None,
                               reason="g++ is not on PATH, so the kernels cannot be emulated on the CPU")
F32, F64 = np.float32, np.float64


@needs_gxx
@pytest.mark.parametrize("x_dtype, param_dtype", [(F64, F32), (F32, F64)])
def test_batch_norm_casts_weight_bias_and_gradient(rng, x_dtype, param_dtype):
    x = (3 + rng.standard_normal((4, 3, 5, 6))).astype(x_dtype)
    weight, bias = (rng.standard_normal(3).astype(param_dtype) for _ in range(2))
    grad = rng.standard_normal(x.shape).astype(param_dtype)  # the gradient in the other dtype too
    view = ChannelView(x)
    mean, var, inv_std, scale, centred, _ = batch_statistics(view, view.matrix(x), weight, 1e-5)
    out = view.array(centred * view.expand(scale) + view.expand(bias))
    g_x, g_weight, g_bias = batch_norm_backward(view, view.matrix(grad), centred, inv_std, scale, True)
    expected = [out.astype(x_dtype), mean, var, view.array(g_x).astype(x_dtype), g_weight, g_bias]

    got_out, got_mean, got_var, got_inv_std, got_scale = batch_norm.forward(view, x, weight, bias, 1e-5)
    got = [got_out, got_mean, got_var, *batch_norm.backward(view, grad, x, got_mean, got_inv_std, got_scale, True)]
    for result, reference in zip(got, expected):
        assert result.dtype == reference.dtype  # the NumPy twin's result dtypes
        np.testing.assert_allclose(result, reference, rtol=2e-5, atol=2e-5)


@needs_gxx
def test_running_stats_are_cast_to_the_buffers_dtype(rng):
    running = [rng.standard_normal(5).astype(F32), rng.random(5).astype(F32) + 0.5]
    stats = {"mean": rng.standard_normal(5), "var": rng.random(5), "count": 37}  # float64 statistics
    expected = [r.copy() for r in running]
    update_running_stats(*expected, stats, 0.1)
    batch_norm.update_running_stats(*running, stats, 0.1, 37)
    for result, reference in zip(running, expected):
        np.testing.assert_allclose(result, reference, rtol=1e-6)
    with pytest.raises(TypeError, match="running_mean .float32. and running_var .float64."):
        batch_norm.update_running_stats(running[0], running[1].astype(F64), stats, 0.1, 37)


@needs_gxx
def test_elementwise_kernels_promote_and_take_the_forward_layout(rng):
    """Any mix of dtypes and memory layouts: NumPy's promotion, in the forward input's layout."""
    t, h, c = (rng.random((2, 3, 4, 5)).astype(F32) for _ in range(3))
    grad = np.ascontiguousarray(rng.standard_normal((2, 4, 5, 3))).transpose(0, 3, 1, 2)  # float64, NHWC
    cases = [(elementwise.add_relu, (t, grad), [np.maximum(t + grad, 0)]),
             (elementwise.relu_backward, (grad, h - 0.5), [(grad * (h > 0.5)).astype(F32)]),  # as F.relu: out's
             (elementwise.highway_combine, (t, h.astype(F64), c), [t * h.astype(F64) + (1 - t) * c]),
             (elementwise.highway_combine_backward, (grad, t, h, c), [grad * h - grad * c, grad * t, grad * (1 - t)])]
    for kernel, inputs, expected in cases:
        results = kernel(*inputs)
        for result, reference in zip(results if isinstance(results, tuple) else (results,), expected):
            assert result.dtype == reference.dtype
            np.testing.assert_allclose(result, reference, rtol=1e-6, atol=1e-6)
    assert elementwise.relu_backward(grad, h - 0.5).strides == h.strides  # the saved output's layout
    with pytest.raises(ValueError, match="one shape"):
        elementwise.add_relu(t, t[:1])


@needs_gxx
def test_sgd_step_casts_the_gradient_and_refuses_another_buffer(rng):
    p = rng.standard_normal(6).astype(F32)
    grad = rng.standard_normal(6)  # float64
    expected = p - np.float32(0.1) * grad.astype(F32)
    sgd.sgd_momentum_step(p, grad, None, 0.1, 0.9, 0, 0, False)
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    with pytest.raises(TypeError, match="one shape, dtype and memory layout"):
        sgd.sgd_momentum_step(p, grad, np.zeros(6), 0.1, 0.9, 0, 0, False)


@needs_gxx
def test_max_pool_backward_casts_the_index(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    best, index = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (3, 3), False)
    grad = rng.standard_normal(best.shape)
    expected = pool.max_pool2d_backward(grad, index, x.shape, (2, 2), (2, 2), (0, 0), False)
    got = pool.max_pool2d_backward(grad, index.astype(np.int64), x.shape, (2, 2), (2, 2), (0, 0), False)
    np.testing.assert_array_equal(got, expected)


class _NeverRun:
    """A kernel that must not be launched: these operands are refused first."""

    def __call__(self, grid, block, args):
        raise AssertionError("launched a kernel whose 32-bit indices cannot reach its operands")


@pytest.fixture
def never_run(monkeypatch):
    for module in (im2col, pool):
        monkeypatch.setattr(module, "function", lambda family, name, like: _NeverRun())


class _Unbacked(np.ndarray):
    """A view mostly outside its memory: printed (in a failure report) without reading its elements."""

    def __repr__(self):
        return f"<view of shape {self.shape}, strides {self.strides}>"

    __str__ = __repr__


def _huge_view(shape, strides, dtype=F32):
    """A view of `shape` and element `strides` over one element of memory: never read (nothing launches)."""
    return as_strided(np.zeros(1, dtype), shape, tuple(s * np.dtype(dtype).itemsize for s in strides)).view(_Unbacked)


BIG = 2 ** 31  # one more element than an int reaches from 0


def test_im2col_checks_the_input_it_reads(never_run):
    x = _huge_view((2, 1, 1, 1), (BIG, 1, 1, 1))  # 2 elements, the second BIG elements after the first
    geo = _conv_im2col.Geometry(x, (1, 1, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1)
    with pytest.raises(OverflowError, match=r"conv2d \(im2col\): input of shape \(2, 1, 1, 1\) spans 2147483649"):
        im2col.im2col(x, geo)


def test_col2im_checks_the_gradient_it_writes(never_run):
    # stride 2 and a 1x1 kernel: the columns hold a quarter of the input pixels, the input gradient all of them
    geo = _conv_im2col.Geometry(_huge_view((2, 2 ** 15, 2 ** 15, 2), (0, 0, 0, 0)), (2, 2, 1, 1), (2, 2),
                                (0, 0, 0, 0), (1, 1), 1)
    grad_cols = _huge_view((1, 2 * 2 ** 28, 2), (0, 2, 1))  # c-contiguous strides: not copied
    with pytest.raises(OverflowError, match=r"col2im\): input_gradient of shape \(2, 32768, 32768, 2\)"):
        im2col.col2im(grad_cols, geo)


def test_max_pool_checks_the_input_it_reads_and_the_gradient_it_writes(never_run):
    x = _huge_view((1, 1, 2, 2), (0, 0, BIG, 1))  # 4 elements spread over more than BIG
    with pytest.raises(OverflowError, match=r"max_pool2d: input of shape \(1, 1, 2, 2\)"):
        pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    grad = _huge_view((2, 2, 2 ** 14, 2 ** 14), (0, 0, 0, 0))  # stride 2: the input is 4 times the gradient
    index = _huge_view(grad.shape, (0, 0, 0, 0), np.int32)
    with pytest.raises(OverflowError, match=r"input_gradient of shape \(2, 2, 32768, 32768\)"):
        pool.max_pool2d_backward(grad, index, (2, 2, 2 ** 15, 2 ** 15), (2, 2), (2, 2), (0, 0), False)
