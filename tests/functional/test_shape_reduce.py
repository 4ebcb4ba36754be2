"""Shape ops, indexing and reductions: values, float64 gradient checks, errors."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck


@pytest.mark.parametrize("fn", [
    lambda x: x.reshape(6, 4), lambda x: x.view(-1), lambda x: x.reshape((4, -1)), lambda x: x.flatten(1),
    lambda x: x.transpose(0, 2), lambda x: x.permute(2, 0, 1), lambda x: x.T, lambda x: x.unsqueeze(1),
    lambda x: x.unsqueeze(-1).squeeze(-1), lambda x: x[:, :1].squeeze(1), lambda x: x[:1].expand(5, 3, 4),
    lambda x: x.unsqueeze(0).expand(2, -1, -1, -1),
])
def test_shape_ops_gradcheck(fn, t64):
    assert gradcheck(fn, [t64(2, 3, 4)])


def test_shape_op_values(rng):
    a = rng.standard_normal((2, 3, 4))
    x = minidl.tensor(a)
    assert np.array_equal(x.permute(2, 0, 1).data, a.transpose(2, 0, 1))
    assert np.array_equal(x.flatten().data, a.reshape(-1))
    assert x.flatten(0, 1).shape == (6, 4)
    assert x.squeeze().shape == (2, 3, 4) and x[:, :1].squeeze().shape == (2, 4)
    assert x.unsqueeze(3).shape == (2, 3, 4, 1)


@pytest.mark.parametrize("index", [
    (slice(None), 1), (Ellipsis, slice(1, 3)), (0, slice(None, None, -1)), (None, 1),
    np.array([0, 1, 1]), (np.array([0, 1, 1, 0]), slice(None), np.array([3, 0, 3, 3])),
    (slice(None), [2, 2, 0]),
])
def test_indexing_gradcheck_including_repeated_integer_indices(index, t64):
    assert gradcheck(lambda x: x[index], [t64(2, 3, 4)])


def test_repeated_integer_index_accumulates_gradient():
    x = minidl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_boolean_mask_and_tensor_index():
    x = minidl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    x[x > 0].sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    assert x[minidl.tensor([2, 0])].tolist() == [3.0, 1.0]


def test_bad_index_is_a_clear_error():
    with pytest.raises(IndexError, match=r"index: cannot index a tensor of shape \(2, 3\)"):
        minidl.tensor(np.ones((2, 3)))[5]


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cat_and_stack_gradcheck(dim, t64):
    a, b, c = t64(2, 3, 4), t64(2, 3, 4), t64(2, 3, 4)
    assert gradcheck(lambda a, b, c: F.stack([a, b, c], dim), [a, b, c])
    assert gradcheck(lambda a, b: F.cat([a, b], dim), [a, b])


def test_cat_of_different_sizes_along_dim(t64):
    a, b = t64(2, 1, 3), t64(2, 4, 3)
    assert F.cat([a, b], 1).shape == (2, 5, 3)
    assert gradcheck(lambda a, b: F.cat([a, b], 1), [a, b])


def test_cat_errors_name_shapes():
    with pytest.raises(ValueError, match=r"cat: .*\(2, 3\), \(3, 3\)"):
        F.cat([minidl.tensor(np.ones((2, 3))), minidl.tensor(np.ones((3, 3)))], dim=1)
    with pytest.raises(ValueError, match="non-empty"):
        F.cat([])
    with pytest.raises(TypeError, match="dtype"):
        F.cat([minidl.tensor(np.ones(2)), minidl.tensor(np.ones(2, np.float32))])
    with pytest.raises(IndexError, match="cat: dim 3 is out of range"):
        F.cat([minidl.tensor(np.ones((2, 3)))], dim=3)


def test_split_and_chunk_sizes_and_gradcheck(t64):
    x = t64(7, 3)
    assert [p.shape[0] for p in x.split(3)] == [3, 3, 1]
    assert [p.shape[0] for p in x.chunk(3)] == [3, 3, 1]
    assert [p.shape[1] for p in F.split(x, [1, 2], dim=1)] == [1, 2]
    assert gradcheck(lambda x: F.cat([p * (i + 1) for i, p in enumerate(x.split([2, 4, 1]))], 0), [x])
    with pytest.raises(ValueError, match="sum to 6"):
        x.split([2, 4])


def test_pad_follows_torch_order_and_gradcheck(t64):
    x = t64(2, 3, 4)
    y = F.pad(x, (1, 2))  # last dimension only
    assert y.shape == (2, 3, 7)
    assert F.pad(x, (1, 1, 2, 0)).shape == (2, 5, 6)
    assert np.all(F.pad(x, (1, 1), value=9.0).data[..., 0] == 9.0)
    assert gradcheck(lambda x: F.pad(x, (1, 2, 0, 3)), [x])
    with pytest.raises(ValueError, match="pad"):
        F.pad(x, (1,))


def test_reshape_and_expand_errors():
    x = minidl.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="expand"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)


@pytest.mark.parametrize("call", [
    lambda x: x.sum(), lambda x: x.sum(1), lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(axis=-1),
    lambda x: x.mean(), lambda x: x.mean(0, keepdim=True), lambda x: x.mean(axis=(1, 2), keepdims=True),
    lambda x: x.var(), lambda x: x.var(1), lambda x: x.var(dim=(0, 2), unbiased=False, keepdim=True),
    lambda x: x.var(axis=0, ddof=0), lambda x: x.max(), lambda x: x.min(), lambda x: x.max(1).values,
    lambda x: x.min(dim=2, keepdim=True).values, lambda x: x.max(axis=(0, 1)), lambda x: F.amax(x, (1, 2)),
])
def test_reductions_gradcheck(call, t64):
    assert gradcheck(call, [t64(3, 4, 5)])


def test_reduction_values_match_numpy(rng):
    a = rng.standard_normal((3, 4, 5))
    x = minidl.tensor(a)
    assert np.allclose(x.sum(dim=1).data, a.sum(1))
    assert np.allclose(x.mean(axis=(0, 2), keepdims=True).data, a.mean((0, 2), keepdims=True))
    assert np.allclose(x.var(1).data, a.var(1, ddof=1))
    assert np.allclose(x.var(1, unbiased=False).data, a.var(1))
    values, indices = x.max(dim=2)
    assert np.allclose(values.data, a.max(2)) and np.array_equal(indices.data, a.argmax(2))
    assert np.allclose(x.max(axis=2).data, a.max(2))  # NumPy's keyword gives values only
    assert np.allclose(x.min(dim=0, keepdim=True).values.data, a.min(0, keepdims=True))
    assert np.array_equal(x.argmax(1).data, a.argmax(1))


def test_max_ties_share_gradient_equally():
    x = minidl.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]


def test_reduction_dim_errors():
    with pytest.raises(IndexError, match="sum: dim 3 is out of range for a tensor with 2 dimensions"):
        minidl.tensor(np.ones((2, 3))).sum(3)
    with pytest.raises(TypeError, match="mean"):
        minidl.tensor([1, 2]).mean()
