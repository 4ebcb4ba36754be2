"""conv2d: forward against the package's textbook op, float64 gradchecks, dtypes, layouts, bad input, GPU."""
import math

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck
from minidl.functional import _conv_im2col, _conv_threads, _conv_winograd


def textbook_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The package's plain conv (minidl/functional/textbook/conv.py) on raw arrays: the forward the fast path
    must reproduce (its gradients are checked against the fast path in test_textbook_ops.py)."""
    with minidl.textbook_ops():
        return F.conv2d(x, w, b, stride, padding, dilation, groups).data


# (input shape, weight shape, stride, padding, dilation, groups): both algorithms, odd and non-square sizes.
CASES = [
    ((2, 3, 7, 9), (4, 3, 3, 3), 1, 1, 1, 1),            # Winograd, sizes not multiples of the 4x4 tile
    ((2, 3, 8, 8), (5, 3, 3, 3), 1, 1, 1, 1),            # Winograd, whole tiles
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0, 1, 1),            # Winograd, no padding
    ((1, 2, 5, 7), (3, 2, 3, 3), 1, 2, 1, 1),            # Winograd, padding 2
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, (1, 2), 1, 1),       # Winograd, padding pair
    ((1, 2, 3, 3), (2, 2, 3, 3), 1, 0, 1, 1),            # Winograd, a single output pixel
    ((2, 3, 9, 7), (4, 3, 3, 3), 2, 1, 1, 1),            # stride 2
    ((2, 3, 9, 8), (4, 3, 3, 3), (1, 2), 1, 1, 1),       # stride pair
    ((2, 3, 7, 9), (4, 3, 1, 1), 1, 0, 1, 1),            # 1x1 (cols = x, no im2col)
    ((2, 3, 7, 9), (4, 3, 1, 1), 2, 0, 1, 1),            # 1x1 stride 2 (ResNet projection shortcut)
    ((2, 3, 6, 7), (4, 3, 2, 3), 1, (1, 0), 1, 1),       # non-square kernel
    ((2, 2, 9, 8), (3, 2, 3, 3), 1, 2, 2, 1),            # dilation 2
    ((1, 2, 9, 10), (3, 2, 3, 3), 2, 1, (2, 1), 1),      # dilation pair with stride
    ((2, 4, 7, 7), (6, 2, 3, 3), 1, 1, 1, 2),            # groups 2
    ((2, 4, 7, 6), (4, 1, 3, 3), 1, 1, 1, 4),            # depthwise
    ((2, 3, 7, 6), (6, 1, 3, 3), 2, 1, 1, 3),            # depthwise, channel multiplier 2, stride 2
    ((1, 2, 8, 7), (3, 2, 5, 5), 1, 2, 1, 1),            # 5x5 (input gradient as a "full" conv)
    ((1, 2, 4, 5), (3, 2, 1, 1), 1, 1, 1, 1),            # 1x1 with padding (input gradient by col2im)
    ((2, 2, 5, 4), (3, 2, 2, 2), 1, 2, 1, 1),            # padding beyond the kernel reach (col2im)
    ((3, 1, 4, 11), (2, 1, 3, 2), (2, 3), (0, 1), 1, 1),  # everything non-square
]
IDS = [f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}".replace(" ", "") for c in CASES]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CASES, ids=IDS)
def test_forward_matches_textbook(rng, x_shape, w_shape, stride, padding, dilation, groups):
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out = F.conv2d(minidl.Tensor(x), minidl.Tensor(w), minidl.Tensor(b), stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, textbook_conv2d(x, w, b, stride, padding, dilation, groups),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CASES, ids=IDS)
def test_gradcheck(t64, x_shape, w_shape, stride, padding, dilation, groups):
    x, w, b = t64(*x_shape), t64(*w_shape), t64(w_shape[0])
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), [x, w, b],
                     max_elements=60)


@pytest.mark.parametrize("kernel", [(3, 3), (1, 1), (2, 3)])
def test_gradcheck_without_bias(t64, kernel):
    x, w = t64(2, 3, 6, 7), t64(4, 3, *kernel)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1), [x, w], max_elements=60)


def test_padding_strings(rng):
    x, w = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((4, 3, 3, 3))
    assert np.allclose(F.conv2d(x, w, padding="valid").data, textbook_conv2d(x, w))
    assert np.allclose(F.conv2d(x, w, padding="same").data, textbook_conv2d(x, w, padding=1))
    even = rng.standard_normal((4, 3, 2, 4))  # PyTorch puts the odd extra pixel at the bottom/right
    same = F.conv2d(x, even, padding="same").data
    padded = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 2)))
    assert same.shape == (2, 4, 7, 8)
    assert np.allclose(same, textbook_conv2d(padded, even))


def test_padding_same_gradcheck(t64):
    x, w = t64(1, 2, 5, 6), t64(3, 2, 2, 4)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)), [x, w], max_elements=60)


def test_winograd_transforms_compute_a_correlation(rng):
    """One dimension of F(4, 3): A^T [(G g) * (B^T d)] equals the 4 outputs of correlating d with g."""
    d, g = rng.standard_normal(6), rng.standard_normal(3)
    a_t, b_t, g_mat = (np.array(m, dtype=float) for m in (_conv_winograd.A_T, _conv_winograd.B_T, _conv_winograd.G))
    expected = [d[i:i + 3] @ g for i in range(4)]
    np.testing.assert_allclose(a_t @ ((g_mat @ g) * (b_t @ d)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", [(8, 8), (7, 10)])
def test_winograd_in_chunks_of_images(rng, monkeypatch, size):
    """On the CPU, Winograd processes the batch in cache-sized chunks; force 2 images per chunk (3 chunks)."""
    monkeypatch.setattr(_conv_winograd, "CHUNK_BYTES", 1)
    monkeypatch.setattr(_conv_winograd, "MIN_CHUNK_TILES", 2 * math.ceil(size[0] / 4) * math.ceil(size[1] / 4))
    x, w = rng.standard_normal((5, 3) + size), rng.standard_normal((4, 3, 3, 3))
    xt, wt = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
    out = F.conv2d(xt, wt, padding=1)
    np.testing.assert_allclose(out.data, textbook_conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)
    grad_y = rng.standard_normal(out.shape)
    out.backward(grad_y)
    one_chunk_x, one_chunk_w = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
    monkeypatch.undo()
    F.conv2d(one_chunk_x, one_chunk_w, padding=1).backward(grad_y)
    np.testing.assert_allclose(xt.grad, one_chunk_x.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(wt.grad, one_chunk_w.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("w_shape, stride, padding, dilation, groups", [
    ((4, 3, 3, 3), 2, 1, 1, 1), ((4, 3, 1, 1), 1, 0, 1, 1), ((6, 1, 1, 1), 1, 0, 1, 3), ((4, 3, 3, 3), 1, 2, 2, 1),
    ((4, 3, 2, 2), 1, 2, 1, 1), ((6, 1, 3, 3), (2, 1), 1, 1, 3)],
    ids=["stride2", "pointwise", "pointwise-groups", "dilated", "col2im-stride1", "depthwise"])
def test_im2col_in_chunks_and_row_blocks(rng, monkeypatch, w_shape, stride, padding, dilation, groups):
    """Force one image per chunk and GEMMs cut into blocks of 5 rows; results must not change."""
    x, w = rng.standard_normal((3, 3, 7, 6)), rng.standard_normal(w_shape)
    results = []
    for cut in (False, True):
        if cut:
            for name, value in (("CHUNK_BYTES", 1), ("ONE_THREAD_WORK", 1), ("MIN_BLOCK_ROWS", 5)):
                monkeypatch.setattr(_conv_im2col, name, value)
        xt, wt = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
        out = F.conv2d(xt, wt, None, stride, padding, dilation, groups)
        out.backward(np.cos(np.arange(out.data.size)).reshape(out.shape))
        results.append((out.data, xt.grad, wt.grad))
    np.testing.assert_allclose(results[1][0], textbook_conv2d(x, w, None, stride, padding, dilation, groups),
                               rtol=1e-12, atol=1e-12)
    for whole, cut in zip(*results):
        np.testing.assert_allclose(cut, whole, rtol=1e-12, atol=1e-12)


def test_run_parallel_keeps_order_raises_and_honours_one_thread(monkeypatch):
    import threading
    assert _conv_threads.run_parallel(lambda k: k * k, range(7)) == [k * k for k in range(7)]
    with pytest.raises(ZeroDivisionError):
        _conv_threads.run_parallel(lambda k: 1 / (k - 3), range(7))
    monkeypatch.setenv("MINIDL_NUM_THREADS", "1")
    assert set(_conv_threads.run_parallel(lambda k: threading.get_ident(), range(4))) == {threading.get_ident()}


def test_run_parallel_starts_a_new_pool_after_fork(monkeypatch):
    """A forked child has the parent's pool object but none of its threads; a pid mismatch must replace it."""
    from minidl import threads
    monkeypatch.setenv("MINIDL_NUM_THREADS", "2")
    _conv_threads.run_parallel(abs, [-1, -2])
    old = threads._pools["conv"][0]
    threads._pools["conv"] = (old, -1)  # what a child sees: the pool belongs to another pid
    assert _conv_threads.run_parallel(abs, [-1, -2]) == [1, 2]
    assert threads._pools["conv"][0] is not old


def test_winograd_is_used_for_3x3_stride_1_only():
    f32, f16 = np.dtype(np.float32), np.dtype(np.float16)
    assert _conv_winograd.applicable((8, 8, 3, 3), (1, 1), (1, 1), 1, f32)
    assert not _conv_winograd.applicable((8, 8, 3, 3), (2, 2), (1, 1), 1, f32)
    assert not _conv_winograd.applicable((8, 8, 3, 3), (1, 1), (2, 2), 1, f32)
    assert not _conv_winograd.applicable((8, 4, 3, 3), (1, 1), (1, 1), 2, f32)
    assert not _conv_winograd.applicable((8, 8, 1, 1), (1, 1), (1, 1), 1, f32)
    assert not _conv_winograd.applicable((8, 8, 3, 3), (1, 1), (1, 1), 1, f16)


@pytest.mark.parametrize("stride", [1, 2], ids=["winograd", "im2col"])
def test_empty_batch(stride):
    x, w = minidl.Tensor(np.zeros((0, 3, 8, 8)), requires_grad=True), minidl.Tensor(np.ones((4, 3, 3, 3)),
                                                                                     requires_grad=True)
    out = F.conv2d(x, w, stride=stride, padding=1, groups=np.int64(1))
    out.sum().backward()
    assert out.shape == (0, 4, 8 // stride, 8 // stride) and x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad, np.zeros((4, 3, 3, 3)))


def test_bias_only_gradient(rng):
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), minidl.Tensor(np.zeros(4),
                                                                                                   requires_grad=True)
    grad_y = rng.standard_normal((2, 4, 6, 6))
    F.conv2d(x, w, b, padding=1).backward(grad_y)
    np.testing.assert_allclose(b.grad, grad_y.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2], ids=["winograd", "im2col"])
def test_float32_stays_float32_and_is_accurate(rng, stride):
    x = rng.standard_normal((4, 16, 13, 10)).astype(np.float32)
    w = (rng.standard_normal((8, 16, 3, 3)) / 12).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    xt, wt, bt = (minidl.Tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, stride=stride, padding=1)
    out.backward(np.ones(out.shape, np.float32))
    assert out.dtype == xt.grad.dtype == wt.grad.dtype == bt.grad.dtype == np.float32
    expected = textbook_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride, 1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def test_float64_stays_float64(t64):
    x, w, b = t64(2, 3, 6, 6), t64(4, 3, 3, 3), t64(4)
    out = F.conv2d(x, w, b, padding=1)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float64


@pytest.mark.parametrize("stride", [1, 2], ids=["winograd", "im2col"])
def test_gradients_against_textbook_adjoint(rng, stride):
    """<grad_y, conv(x, w)> is linear in x and in w, so its gradients follow from the textbook by finite sums."""
    x, w = rng.standard_normal((2, 3, 9, 7)), rng.standard_normal((4, 3, 3, 3))
    xt, wt = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
    out = F.conv2d(xt, wt, stride=stride, padding=1)
    grad_y = rng.standard_normal(out.shape)
    out.backward(grad_y)
    basis_w = np.eye(w.size).reshape((w.size,) + w.shape)
    expected_w = [np.sum(grad_y * textbook_conv2d(x, e, stride=stride, padding=1)) for e in basis_w]
    np.testing.assert_allclose(wt.grad.reshape(-1), expected_w, rtol=1e-10, atol=1e-10)
    probe = rng.standard_normal(x.shape)  # directional derivative along a random input direction
    assert np.isclose(np.sum(xt.grad * probe), np.sum(grad_y * textbook_conv2d(probe, w, stride=stride, padding=1)))


@pytest.mark.parametrize("need", ["input", "weight"])
def test_only_one_gradient_needed(rng, need):
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    full_x, full_w = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
    F.conv2d(full_x, full_w, padding=1).sum().backward()
    xt, wt = minidl.Tensor(x, requires_grad=need == "input"), minidl.Tensor(w, requires_grad=need == "weight")
    F.conv2d(xt, wt, padding=1).sum().backward()
    got, expected = (xt.grad, full_x.grad) if need == "input" else (wt.grad, full_w.grad)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_interleaved_convs_keep_their_own_buffers(rng):
    """Scratch buffers are shared between calls: outputs and saved tensors must not be among them."""
    xs = [rng.standard_normal((2, 3, 8, 8)) for _ in range(2)]
    ws = [rng.standard_normal((4, 3, 3, 3)) for _ in range(2)]
    alone = []
    for x, w in zip(xs, ws):
        xt, wt = minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)
        F.conv2d(xt, wt, padding=1).backward(np.ones((2, 4, 8, 8)))
        alone.append((xt.grad.copy(), wt.grad.copy()))
    tensors = [(minidl.Tensor(x, requires_grad=True), minidl.Tensor(w, requires_grad=True)) for x, w in zip(xs, ws)]
    outs = [F.conv2d(xt, wt, padding=1) for xt, wt in tensors]  # both forwards before either backward
    for out, x, w in zip(outs, xs, ws):
        np.testing.assert_allclose(out.data, textbook_conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)
    for out, (xt, wt), (gx, gw) in zip(outs, tensors, alone):
        out.backward(np.ones(out.shape))
        np.testing.assert_allclose(xt.grad, gx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(wt.grad, gw, rtol=1e-12, atol=1e-12)


def test_channels_last_and_strided_inputs(rng):
    """conv2d returns a channels-last view; feeding it (or any strided view) to another conv gives the same result."""
    x, w1, w2 = rng.standard_normal((2, 3, 16, 9)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal((5, 4, 3, 3))
    hidden = F.conv2d(x, w1, padding=1)
    assert hidden.data.strides[1] == hidden.data.itemsize  # channels are adjacent in memory
    out = F.conv2d(hidden, w2, padding=1)
    expected = textbook_conv2d(textbook_conv2d(x, w1, padding=1), w2, padding=1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-11)
    view = x[:, :, ::2]
    np.testing.assert_allclose(F.conv2d(view, w1, stride=2).data, textbook_conv2d(view, w1, stride=2),
                               rtol=1e-12, atol=1e-12)


def test_raw_arrays_and_no_grad(rng):
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    with minidl.no_grad():
        out = F.conv2d(minidl.Tensor(x, requires_grad=True), w, padding=1)
    assert isinstance(out, minidl.Tensor) and not out.requires_grad
    np.testing.assert_allclose(out.data, textbook_conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)


BAD = [
    (dict(x=(3, 5, 5)), ValueError, "4-D input"),
    (dict(w=(4, 3, 3)), ValueError, "4-D weight"),
    (dict(w=(4, 2, 3, 3)), ValueError, "expects 2"),
    (dict(x=(1, 4, 5, 5), w=(4, 2, 3, 3), groups=3), ValueError, "must divide"),
    (dict(x=(1, 4, 5, 5), w=(3, 2, 3, 3), groups=2), ValueError, "must divide"),
    (dict(groups=0), ValueError, "groups must be a positive int"),
    (dict(w_dtype=np.float32), TypeError, "dtype"),
    (dict(x_dtype=np.int64), TypeError, "floating-point"),
    (dict(bias=(3,)), ValueError, "bias must have shape (4,)"),
    (dict(bias_dtype=np.float32), TypeError, "bias dtype"),
    (dict(stride=0), ValueError, "stride must be positive"),
    (dict(dilation=(1, 0)), ValueError, "dilation must be positive"),
    (dict(padding=-1), ValueError, "non-negative"),
    (dict(stride=(1, 2, 3)), TypeError, "pair of ints"),
    (dict(w=(4, 3, 7, 3)), ValueError, "larger than the padded input"),
    (dict(w=(4, 3, 3, 3), dilation=3), ValueError, "larger than the padded input"),
    (dict(padding="full"), ValueError, "'same' or 'valid'"),
    (dict(padding="same", stride=2), ValueError, "needs stride 1"),
]


@pytest.mark.parametrize("bad, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_named(bad, error, message):
    x = np.zeros(bad.get("x", (1, 3, 5, 5)), dtype=bad.get("x_dtype", np.float64))
    w = np.zeros(bad.get("w", (4, 3, 3, 3)), dtype=bad.get("w_dtype", np.float64))
    b = np.zeros(bad["bias"] if "bias" in bad else 4, dtype=bad.get("bias_dtype", np.float64))
    options = {k: bad[k] for k in ("stride", "padding", "dilation", "groups") if k in bad}
    with pytest.raises(error) as info:
        F.conv2d(minidl.Tensor(x), minidl.Tensor(w), minidl.Tensor(b), **options)
    assert "conv2d" in str(info.value) and message in str(info.value)


@pytest.mark.gpu
@pytest.mark.parametrize("stride, groups", [(1, 1), (2, 1), (1, 2)], ids=["winograd", "im2col", "groups"])
def test_gpu_matches_cpu(rng, stride, groups):
    x = rng.standard_normal((2, 4, 9, 10)).astype(np.float32)
    w = rng.standard_normal((6, 4 // groups, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        xt, wt, bt = (minidl.Tensor(a, requires_grad=True, device=device) for a in (x, w, b))
        out = F.conv2d(xt, wt, bt, stride=stride, padding=1, groups=groups)
        out.backward(minidl.Tensor(np.ones(out.shape, np.float32), device=device))
        results.append([minidl.backend.to_device(a, "cpu") for a in (out.data, xt.grad, wt.grad, bt.grad)])
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)
