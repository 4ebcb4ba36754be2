"""Float64 gradient checks and forward values of the elementwise ops, with broadcasting."""
import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl.analysis import gradcheck

BROADCAST_CASES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 5), (3, 1)), ((1,), (2, 3)), ((), (2, 3))]


@pytest.mark.parametrize("op", [F.add, F.sub, F.mul, F.div, F.maximum, F.minimum])
@pytest.mark.parametrize("shapes", BROADCAST_CASES)
def test_binary_ops_gradcheck_with_broadcasting(op, shapes, t64):
    a, b = t64(*shapes[0]), t64(*shapes[1], low=0.5)
    assert gradcheck(op, [a, b])
    assert op(a, b).shape == np.broadcast_shapes(*shapes)


def test_operators_match_numpy(rng):
    a_np, b_np = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (4,))
    a, b = minidl.tensor(a_np), minidl.tensor(b_np)
    for got, want in [(a + b, a_np + b_np), (a - b, a_np - b_np), (a * b, a_np * b_np), (a / b, a_np / b_np),
                      (b ** a, b_np ** a_np), (-a, -a_np), (abs(a), np.abs(a_np)), (2 - a, 2 - a_np),
                      (1 / b, 1 / b_np)]:
        assert np.allclose(got.data, want)


def test_pow_with_tensor_exponent_gradcheck(t64):
    base, exponent = t64(3, 2, low=0.5), t64(2)
    assert gradcheck(F.pow, [base, exponent])


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.5])
def test_pow_scalar_gradcheck(p, t64):
    assert gradcheck(lambda x: x ** p, [t64(4, 3, low=0.3)])


def test_rpow_scalar_base(t64):
    assert gradcheck(lambda x: 2.0 ** x, [t64(5)])


@pytest.mark.parametrize("op,low", [(F.exp, None), (F.log, 0.2), (F.sqrt, 0.2), (F.abs, None), (F.neg, None)])
def test_unary_math_gradcheck(op, low, t64):
    assert gradcheck(op, [t64(3, 5, low=low)])


def test_clamp_gradcheck_and_bounds(t64):
    x = t64(4, 5)
    assert gradcheck(lambda x: F.clamp(x, -0.5, 0.7), [x])
    assert gradcheck(lambda x: x.clamp(min=0.1), [x])
    y = F.clamp(minidl.tensor([-2.0, 0.0, 2.0], requires_grad=True), -1.0, 1.0)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="clamp"):
        F.clamp(x)


def test_maximum_ties_share_the_gradient():
    a = minidl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = minidl.tensor([1.0, 5.0, 0.0], requires_grad=True)
    F.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]


def test_where_gradcheck_with_broadcasting(t64, rng):
    condition = rng.standard_normal((3, 4)) > 0
    a, b = t64(3, 4), t64(4)
    assert gradcheck(lambda a, b: F.where(condition, a, b), [a, b])
    assert np.allclose(F.where(condition, a, b).data, np.where(condition, a.data, b.data))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
                                    ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,))])
def test_matmul_gradcheck_batched_and_vector(shapes, t64):
    a, b = t64(*shapes[0]), t64(*shapes[1])
    assert gradcheck(F.matmul, [a, b])
    assert np.allclose((a @ b).data, a.data @ b.data)


@pytest.mark.parametrize("op", [F.relu, F.sigmoid, F.tanh, F.softplus, F.gelu,
                                lambda x: F.leaky_relu(x, 0.1), lambda x: F.gelu(x, approximate="tanh"),
                                lambda x: F.softplus(x, beta=2.0, threshold=1.0)])
def test_activation_gradcheck(op, rng):
    data = rng.standard_normal((4, 6))
    data[np.abs(data) < 0.05] = 0.3  # keep probes away from the kinks of relu/leaky_relu
    assert gradcheck(op, [minidl.tensor(data, requires_grad=True)])


def test_activation_values():
    x = minidl.tensor([-1.0, 0.0, 2.0])
    assert F.relu(x).tolist() == [0.0, 0.0, 2.0]
    assert np.allclose(F.sigmoid(x).data, 1 / (1 + np.exp([1.0, 0.0, -2.0])))
    assert np.allclose(F.leaky_relu(x, 0.2).data, [-0.2, 0.0, 2.0])
    assert np.allclose(F.softplus(x).data, np.log1p(np.exp([-1.0, 0.0, 2.0])))
    # gelu(x) = x * Phi(x); Phi(2) = 0.97724986805
    assert np.isclose(F.gelu(x).data[2], 2 * 0.97724986805, atol=1e-6)
    assert np.isclose(F.gelu(x, approximate="tanh").data[2], 1.9545977, atol=1e-6)


def test_sigmoid_does_not_overflow_for_large_inputs():
    x = minidl.tensor(np.array([-1000.0, 1000.0], dtype=np.float32))
    with np.errstate(over="raise"):
        assert F.sigmoid(x).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_gradcheck(op, dim, t64):
    assert gradcheck(lambda x: op(x, dim), [t64(3, 4, 2)])


def test_softmax_is_stable_and_normalised():
    x = minidl.tensor(np.array([[1000.0, 1001.0, 1002.0]], dtype=np.float32))
    p = F.softmax(x, dim=1)
    assert np.isfinite(p.data).all() and np.isclose(p.data.sum(), 1.0)
    assert np.allclose(F.log_softmax(x, 1).data, np.log(p.data), atol=1e-6)


def test_activations_reject_integer_input():
    with pytest.raises(TypeError, match="relu: input must be a floating-point tensor"):
        F.relu(minidl.tensor([1, 2]))


def test_shapes_that_do_not_broadcast_are_a_clear_error():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        minidl.tensor(np.ones((2, 3))) + minidl.tensor(np.ones(4))
    with pytest.raises(ValueError, match="mul"):
        minidl.tensor(np.ones((2, 3))) * np.ones((3, 2))


def test_matmul_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align"):
        minidl.tensor(np.ones((2, 3))) @ minidl.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match="batch dimensions"):
        minidl.tensor(np.ones((2, 2, 3))) @ minidl.tensor(np.ones((3, 3, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_through_ops_and_gradients(dtype):
    x = minidl.tensor(np.linspace(0.1, 1, 6, dtype=dtype).reshape(2, 3), requires_grad=True)
    y = F.gelu(F.softplus(F.tanh(F.sigmoid(x.exp().log().sqrt() ** 2) * 0.5))) @ minidl.tensor(np.ones((3, 2), dtype))
    z = F.log_softmax(y, 1).mean()
    assert z.dtype == dtype
    z.backward()
    assert x.grad.dtype == dtype


@pytest.mark.parametrize("op", [F.relu, F.sigmoid, F.tanh, F.softplus, F.gelu, F.exp])
def test_activations_of_a_0d_tensor(op):
    x = minidl.tensor(np.float64(0.3), requires_grad=True)
    y = op(x)
    assert y.shape == () and np.isfinite(y.item())
    y.backward()
    assert x.grad.shape == ()
