"""The textbook ops (minidl/functional/textbook): their gradients by central differences, the fast ops
against them forward and backward on a grid of shapes, and whole ResNets on either path (all float64)."""
import contextlib
import threading

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck
from minidl.functional import textbook


def _both_paths(fn, inputs):
    """(output, input gradients) of fn(*inputs) on the fast path, then on the textbook path, for one random
    output gradient."""
    results = []
    for use_textbook in (False, True):
        leaves = [minidl.tensor(a.copy(), requires_grad=True) if a is not None else None for a in inputs]
        with textbook.textbook_ops() if use_textbook else contextlib.nullcontext():
            out = fn(*leaves)
        g = np.random.default_rng(7).standard_normal(out.shape)
        out.backward(g)
        results.append((out.data, [leaf.grad if leaf is not None else None for leaf in leaves]))
    return results


def _assert_paths_agree(fn, inputs, atol=1e-10):
    (fast, fast_grads), (ref, ref_grads) = _both_paths(fn, inputs)
    assert fast.shape == ref.shape
    np.testing.assert_allclose(fast, ref, atol=atol, rtol=1e-9)
    for i, (a, b) in enumerate(zip(fast_grads, ref_grads)):
        assert (a is None) == (b is None), f"input {i}"
        if a is not None:
            np.testing.assert_allclose(a, b, atol=atol, rtol=1e-9, err_msg=f"gradient of input {i}")


# (input shape, weight shape, stride, padding, dilation, groups): 3x3 stride 1 takes Winograd, the rest im2col
CONV_CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, 1, 1),
    ((2, 3, 7, 9), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 8, 8), (5, 3, 3, 3), 2, 1, 1, 1),
    ((1, 4, 9, 7), (6, 2, 3, 2), (2, 1), (1, 0), 1, 2),
    ((2, 4, 8, 8), (4, 1, 3, 3), 1, "same", 1, 4),
    ((2, 3, 10, 10), (2, 3, 3, 3), 1, "same", 2, 1),
    ((2, 3, 6, 6), (4, 3, 1, 1), 2, 0, 1, 1),
    ((2, 2, 9, 9), (3, 2, 5, 3), (1, 2), "valid", (2, 1), 1),
    ((1, 6, 6, 5), (3, 2, 2, 2), 1, (1, 2), 1, 3),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CONV_CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_conv2d_fast_path_matches_textbook(x_shape, w_shape, stride, padding, dilation, groups, bias, rng):
    inputs = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[0]) if bias else None]
    _assert_paths_agree(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), inputs)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,dilation,groups", CONV_CASES[::2])
def test_textbook_conv2d_gradient(x_shape, w_shape, stride, padding, dilation, groups, t64):
    x, w, b = t64(*x_shape), t64(*w_shape), t64(w_shape[0])
    with minidl.textbook_ops():
        assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), [x, w, b])


def test_textbook_conv2d_checks_arguments_like_the_fast_path(t64):
    with minidl.textbook_ops(), pytest.raises(ValueError, match="conv2d: input of shape"):
        F.conv2d(t64(1, 3, 5, 5), t64(2, 4, 3, 3))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_training_fast_path_matches_textbook(shape, affine, rng):
    c = shape[1]
    weights = [rng.standard_normal(c), rng.standard_normal(c)] if affine else [None, None]
    _assert_paths_agree(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                        [rng.standard_normal(shape), *weights])
    x = rng.standard_normal(shape)
    buffers = []
    for use_textbook in (False, True):
        running_mean, running_var = np.zeros(c), np.ones(c)
        with textbook.textbook_ops() if use_textbook else contextlib.nullcontext():
            F.batch_norm(minidl.tensor(x), running_mean, running_var, training=True, momentum=0.3)
        buffers.append((running_mean, running_var))
    (fast_mean, fast_var), (ref_mean, ref_var) = buffers
    np.testing.assert_allclose(fast_mean, ref_mean, rtol=1e-12)
    np.testing.assert_allclose(fast_var, ref_var, rtol=1e-12)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(ref_var, 0.7 + 0.3 * x.var(axis=axes, ddof=1))  # the unbiased variance


def test_batch_norm_eval_fast_path_matches_textbook(rng):
    mean, var = rng.standard_normal(3), 0.5 + rng.random(3)
    _assert_paths_agree(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False),
                        [rng.standard_normal((2, 3, 4, 4)), rng.standard_normal(3), rng.standard_normal(3)])


@pytest.mark.parametrize("training", [True, False])
def test_textbook_batch_norm_gradient(training, t64, rng):
    mean, var = rng.standard_normal(3), 0.5 + rng.random(3)
    x, w, b = t64(3, 3, 4, 2), t64(3), t64(3)
    with minidl.textbook_ops():
        assert gradcheck(lambda x, w, b: F.batch_norm(x, mean.copy(), var.copy(), w, b, training=training),
                         [x, w, b])


POOL_CASES = [((2, 3, 8, 8), 2, None, 0), ((2, 2, 7, 9), 3, 2, 1), ((1, 3, 6, 5), (3, 2), (1, 2), (1, 0))]


@pytest.mark.parametrize("shape,kernel,stride,padding", POOL_CASES)
def test_max_pool_fast_path_matches_textbook_and_gradient(shape, kernel, stride, padding, rng, t64):
    _assert_paths_agree(lambda x: F.max_pool2d(x, kernel, stride, padding), [rng.standard_normal(shape)])
    with minidl.textbook_ops():
        assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [t64(*shape)])


@pytest.mark.parametrize("shape,kernel,stride,padding", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_fast_path_matches_textbook_and_gradient(shape, kernel, stride, padding, count_include_pad, rng,
                                                           t64):
    def pool(x):
        return F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad)
    _assert_paths_agree(pool, [rng.standard_normal(shape)])
    with minidl.textbook_ops():
        assert gradcheck(pool, [t64(*shape)])


@pytest.mark.parametrize("size", [1, (3, 2), (2, None)])
def test_adaptive_avg_pool_fast_path_matches_textbook_and_gradient(size, rng, t64):
    _assert_paths_agree(lambda x: F.adaptive_avg_pool2d(x, size), [rng.standard_normal((2, 3, 7, 5))])
    with minidl.textbook_ops():
        assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [t64(2, 3, 7, 5)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_fast_path_matches_textbook_and_gradient(dim, rng, t64):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for extra, shape in zip((1, 2, 3), shapes):
        shape[dim] = extra
    _assert_paths_agree(lambda *xs: F.cat(xs, dim), [rng.standard_normal(s) for s in shapes])
    with minidl.textbook_ops():
        assert gradcheck(lambda *xs: F.cat(xs, dim), [t64(*s) for s in shapes])


@pytest.mark.parametrize("name,depth", [("resnet20", 20), ("resnet20", 8)])
def test_resnet_on_the_textbook_path_matches_the_fast_path(name, depth, rng):
    """Train mode, float64: the same output, input gradient and every parameter gradient on both paths."""
    minidl.manual_seed(0)
    model = minidl.models.create(name, depth=depth).double().train()
    x_data, g = rng.standard_normal((2, 3, 16, 16)), rng.standard_normal((2, 10))
    results = []
    for use_textbook in (False, True):
        model.zero_grad()
        x = minidl.tensor(x_data, requires_grad=True)
        with textbook.textbook_ops() if use_textbook else contextlib.nullcontext(), minidl.profile() as prof:
            out = model(x)
            out.backward(g)
        ops = {row["name"] for row in prof.rows()}
        assert ("conv2d[textbook]" in ops) == use_textbook and ("conv2d[winograd]" in ops) != use_textbook
        results.append((out.data, x.grad, {n: p.grad.copy() for n, p in model.named_parameters()}))
    (fast, fast_gx, fast_grads), (ref, ref_gx, ref_grads) = results
    np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(fast_gx, ref_gx, rtol=1e-9, atol=1e-10)
    assert fast_grads.keys() == ref_grads.keys() and len(fast_grads) > 3 * (depth - 2) // 2
    for name in fast_grads:
        np.testing.assert_allclose(fast_grads[name], ref_grads[name], rtol=1e-8, atol=1e-10, err_msg=name)


def test_memory_efficient_densenet_leaves_its_fused_op_on_the_textbook_path(rng):
    minidl.manual_seed(0)
    model = minidl.models.create("densenet_bc100", depth=10, memory_efficient=True).double().train()
    x = minidl.tensor(rng.standard_normal((2, 3, 8, 8)))
    names = []
    for use_textbook in (False, True):
        with textbook.textbook_ops() if use_textbook else contextlib.nullcontext(), minidl.profile() as prof:
            model(x).sum().backward()
        names.append({row["name"] for row in prof.rows()})
    assert "DenseInput" in names[0] and "DenseInput" not in names[1]
    assert not any(name.startswith("conv2d[") and name != "conv2d[textbook]" for name in names[1])


def test_profiler_names_the_conv_algorithm(t64):
    with minidl.profile() as prof:
        F.conv2d(t64(1, 2, 6, 6), t64(3, 2, 3, 3), padding=1).sum().backward()   # 3x3 stride 1: Winograd
        F.conv2d(t64(1, 2, 6, 6), t64(3, 2, 3, 3), stride=2).sum().backward()    # stride 2: im2col
        with minidl.textbook_ops():
            F.conv2d(t64(1, 2, 6, 6), t64(3, 2, 3, 3)).sum().backward()
    rows = {row["name"]: row for row in prof.rows()}
    for name in ("conv2d[winograd]", "conv2d[im2col]", "conv2d[textbook]"):
        assert rows[name]["forward_calls"] == 1 and rows[name]["backward_calls"] == 1, name


def test_textbook_ops_switch_nests_and_counts_across_threads():
    assert not textbook.active()
    with minidl.textbook_ops():
        with minidl.textbook_ops():
            assert textbook.active()
        assert textbook.active()  # the inner block's exit leaves the outer one open
    assert not textbook.active()
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with minidl.textbook_ops():
            inside.set()
            leave.wait(10)
    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(10)
    with minidl.textbook_ops():
        pass
    assert textbook.active()  # this thread's block closed, the worker's is still open (process-wide switch)
    leave.set()
    worker.join()
    assert not textbook.active()
