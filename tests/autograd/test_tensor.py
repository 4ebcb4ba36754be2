"""Tensor construction, dtype rules, devices, seeds and small conveniences."""
import numpy as np
import pytest

import minidl
from minidl import backend


def test_python_floats_default_to_float32_and_ints_to_int64():
    assert minidl.tensor([1.0, 2.0]).dtype == np.float32
    assert minidl.tensor(3.0).dtype == np.float32
    assert minidl.tensor([1, 2]).dtype == np.int64


def test_float64_arrays_stay_float64():
    assert minidl.tensor(np.ones(3)).dtype == np.float64


def test_python_scalars_never_promote_float32():
    x = minidl.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3.0, 3.0 / x, x ** 2, x ** 0.5, -x):
        assert y.dtype == np.float32


def test_integer_tensor_times_float_becomes_default_float():
    assert (minidl.tensor([1, 2]) * 0.5).dtype == np.float32


def test_set_default_dtype_changes_new_tensors():
    try:
        minidl.set_default_dtype(np.float64)
        assert minidl.tensor([1.0]).dtype == np.float64
    finally:
        minidl.set_default_dtype(np.float32)
    with pytest.raises(TypeError):
        minidl.set_default_dtype(np.int32)


def test_ndarray_on_the_left_defers_to_tensor():
    x = minidl.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([2.0, 3.0], dtype=np.float32) * x
    assert isinstance(y, minidl.Tensor)
    y.sum().backward()
    assert np.allclose(x.grad, [2.0, 3.0])


def test_shape_facts_and_conversions():
    x = minidl.tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.numel() == 6 and len(x) == 2 and x.size(1) == 3
    assert x.device == "cpu"
    assert x.numpy() is x.data
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert minidl.tensor([[5.0]]).item() == 5.0
    assert "tensor(" in repr(x) and "requires_grad" in repr(minidl.tensor([1.0], requires_grad=True))


def test_to_cpu_and_dtype_cast_keeps_the_graph():
    x = minidl.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert x.to("cpu") is x
    y = x.to(dtype=np.float64)
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad, 2.0)


def test_unknown_device_and_missing_gpu_are_clear_errors():
    with pytest.raises(ValueError, match="unknown device"):
        minidl.tensor([1.0]).to("tpu")
    if not minidl.cuda.is_available():
        with pytest.raises(RuntimeError, match="CuPy or a CUDA GPU is missing"):
            minidl.tensor([1.0]).to("cuda")


def test_comparisons_give_boolean_tensors():
    x = minidl.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert x.eq(2.0).tolist() == [False, True, False]


def test_manual_seed_makes_framework_draws_repeatable():
    minidl.manual_seed(3)
    a = backend.rng().standard_normal(4)
    minidl.manual_seed(3)
    b = backend.rng().standard_normal(4)
    assert np.array_equal(a, b)
    state = backend.get_rng_state()
    c = backend.rng().standard_normal(2)
    backend.set_rng_state(state)
    assert np.array_equal(c, backend.rng().standard_normal(2))
    backend.set_rng_state(state["numpy"])  # the format of older checkpoints: NumPy's state alone
    assert np.array_equal(c, backend.rng().standard_normal(2))


def test_mixing_devices_in_one_op_is_a_clear_error(monkeypatch):
    """Simulated without a GPU: pretend one array lives on 'cuda'."""
    from minidl.autograd import function

    a = np.ones(2, dtype=np.float32)
    b = np.ones(2, dtype=np.float32)
    monkeypatch.setattr(backend, "cp", object())
    monkeypatch.setattr(backend, "device_of", lambda arr: "cuda" if arr is b else "cpu")
    with pytest.raises(RuntimeError, match=r"Add: all inputs must be on one device.*\(2,\) on cpu.*\(2,\) on cuda"):
        function._check_same_device("Add", [a, b])


@pytest.mark.gpu
def test_tensor_round_trip_to_gpu():
    x = minidl.tensor(np.arange(4.0), requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda"
    (y * 2).sum().backward()
    assert x.grad is not None and np.allclose(x.grad, 2.0)


@pytest.mark.gpu
def test_mixing_real_devices_is_a_clear_error():
    a = minidl.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="one device"):
        a + minidl.tensor([1.0])


def test_tensor_shares_a_numpy_arrays_memory_unless_it_must_convert():
    """Unlike torch.tensor, minidl.tensor wraps an array of the right dtype: writes show through both ways."""
    array = np.zeros(3, np.float32)
    shared = minidl.tensor(array)
    array[0] = 1.0
    shared.data[1] = 2.0
    assert np.shares_memory(shared.data, array) and array.tolist() == [1.0, 2.0, 0.0]
    assert shared.tolist() == [1.0, 2.0, 0.0]
    converted = minidl.tensor(array, dtype=np.float64)  # another dtype: a new array
    array[2] = 3.0
    assert not np.shares_memory(converted.data, array) and converted.tolist() == [1.0, 2.0, 0.0]
    copied = minidl.tensor(array.copy())
    assert not np.shares_memory(copied.data, array)
