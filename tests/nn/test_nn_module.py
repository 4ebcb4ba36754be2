"""Module: registration, traversal order, modes, devices/dtypes, state dicts and strict loading, repr."""
import numpy as np
import pytest

import minidl
from minidl import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.fc = nn.Linear(3, 3)
        self.bn = nn.BatchNorm1d(3)
        self.register_buffer("counter", np.zeros((), np.int64))
        self.note = "plain attribute"

    def forward(self, x):
        return self.bn(self.fc(x * self.scale))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(3, 2))

    def forward(self, x):
        return self.head(self.first(x))


def test_assignment_registers_parameters_modules_and_buffers():
    block = Block()
    assert list(block._parameters) == ["scale"]
    assert list(block._modules) == ["fc", "bn"]
    assert list(block._buffers) == ["counter"]
    assert isinstance(block.counter, minidl.Tensor) and block.counter.shape == ()
    assert block.note == "plain attribute" and "note" not in block._parameters
    block.register_parameter("extra", None)
    assert "extra" not in dict(block.named_parameters())
    del block.fc
    assert "fc" not in block._modules and not hasattr(block, "fc")


def test_named_parameters_order_is_registration_order_parents_first():
    names = [name for name, _ in Net().named_parameters()]
    assert names == ["first.scale", "first.fc.weight", "first.fc.bias", "first.bn.weight", "first.bn.bias",
                     "head.1.weight", "head.1.bias"]


def test_named_buffers_modules_and_children():
    net = Net()
    assert [n for n, _ in net.named_buffers()] == ["first.counter", "first.bn.running_mean", "first.bn.running_var",
                                                   "first.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "first.fc", "first.bn", "head", "head.0", "head.1"]
    assert [n for n, _ in net.named_children()] == ["first", "head"]
    assert len(list(net.modules())) == 7 and len(list(net.children())) == 2


def test_shared_parameter_and_module_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 3
    # the state dict lists the shared tensors under both names, as PyTorch does
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_wrong_assignments_raise_clear_errors():
    block = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        block.scale = minidl.Tensor(np.ones(3))
    with pytest.raises(KeyError, match="already exists"):
        block.register_buffer("note", np.zeros(2))
    with pytest.raises(KeyError, match="without '.'"):
        block.register_parameter("a.b", None)

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_train_eval_propagate_to_every_submodule():
    net = Net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_apply_visits_children_before_parent_and_zero_grad():
    visited = []
    net = Net().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "BatchNorm1d", "Block", "ReLU", "Linear", "Sequential", "Net"]
    x = minidl.Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_dtype_keeps_objects_and_integer_buffers():
    net = Net()
    params = list(net.parameters())
    net.to(np.float64)
    assert list(net.parameters()) == params  # the same Parameter objects, so an optimizer stays valid
    assert all(p.dtype == np.float64 for p in params)
    assert net.first.bn.running_mean.dtype == np.float64
    assert net.first.bn.num_batches_tracked.dtype == np.int64
    assert net.to("cpu") is net and net.first.fc.weight.device == "cpu"
    assert net.float().first.fc.weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        net.to(np.int32)


def test_state_dict_round_trip_includes_batch_norm_buffers():
    minidl.manual_seed(0)
    source, target = Net(), Net()
    x = minidl.Tensor(np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
    source(x)  # training step: moves the running statistics
    state = source.state_dict()
    assert list(state) == ["first.scale", "first.counter", "first.fc.weight", "first.fc.bias", "first.bn.weight",
                           "first.bn.bias", "first.bn.running_mean", "first.bn.running_var",
                           "first.bn.num_batches_tracked", "head.1.weight", "head.1.bias"]
    assert all(not v.requires_grad for v in state.values())
    weight = target.first.fc.weight
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert target.first.fc.weight is weight  # copied in place
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.data, state[key].data)
    assert int(target.first.bn.num_batches_tracked.item()) == 1
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_load_state_dict_accepts_arrays_and_casts_to_the_model_dtype():
    net = Net()
    arrays = {k: v.numpy().astype(np.float64) if v.dtype.kind == "f" else v.numpy() for k, v in
              Net().state_dict().items()}
    net.load_state_dict(arrays)
    assert net.first.fc.weight.dtype == np.float32
    np.testing.assert_allclose(net.first.fc.weight.data, arrays["first.fc.weight"], rtol=1e-7)


def test_strict_load_names_every_missing_unexpected_and_misshaped_key():
    net = Net()
    state = net.state_dict()
    del state["head.1.bias"]
    state["head.2.weight"] = np.zeros(3)
    state["first.fc.weight"] = np.zeros((4, 3), np.float32)
    before = net.first.scale.numpy().copy()
    state["first.scale"] = np.full(3, 7, np.float32)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing keys (1): head.1.bias" in message
    assert "unexpected keys (1): head.2.weight" in message
    assert "first.fc.weight: shape (4, 3) in the state dict, (3, 3) in the model" in message
    np.testing.assert_array_equal(net.first.scale.data, before)  # nothing was loaded


def test_a_long_key_list_names_the_first_five_and_counts_the_rest():
    """Loading a resnet's state into another architecture misses 100+ keys: the message stays a few lines."""
    net = nn.Sequential(*[nn.Linear(2, 2) for _ in range(60)])  # 120 keys
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict({f"other.{i}": np.zeros(1) for i in range(8)})
    message = str(info.value)
    assert "missing keys (120): 0.weight, 0.bias, 1.weight, 1.bias, 2.weight, ... and 115 more" in message
    assert "unexpected keys (8): other.0, other.1, other.2, other.3, other.4, ... and 3 more" in message
    assert "59.bias" not in message and "other.7" not in message
    assert len(message) < 400


def test_non_strict_load_reports_keys_but_still_rejects_wrong_shapes():
    net = Net()
    state = net.state_dict()
    del state["head.1.bias"]
    state["surplus"] = np.zeros(1)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.1.bias"] and result.unexpected_keys == ["surplus"]
    state["head.1.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="head.1.weight"):
        net.load_state_dict(state, strict=False)


def test_non_persistent_buffer_is_not_in_state_dict():
    module = nn.Module()
    module.register_buffer("cache", np.zeros(2), persistent=False)
    module.register_buffer("kept", np.zeros(2))
    assert list(module.state_dict()) == ["kept"]
    assert [n for n, _ in module.named_buffers()] == ["cache", "kept"]


def test_repr_shows_the_tree():
    text = repr(Net())
    assert text == (
        "Net(\n"
        "  (first): Block(\n"
        "    (fc): Linear(in_features=3, out_features=3, bias=True)\n"
        "    (bn): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Linear(in_features=3, out_features=2, bias=True)\n"
        "  )\n"
        ")")
    assert repr(nn.Parameter(np.zeros(1, np.float32))).startswith("Parameter containing:\ntensor(")


def test_parameter_shares_memory_and_requires_grad():
    data = np.zeros(3, np.float32)
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf
    data[0] = 5
    assert p.data[0] == 5
    assert not nn.Parameter(data, requires_grad=False).requires_grad
