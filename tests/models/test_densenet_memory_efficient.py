"""densenet(..., memory_efficient=True): the same network (values, gradients, running statistics, state_dict)
with the concatenations and BN-ReLU outputs of its dense layers recomputed in backward instead of stored."""
import tracemalloc

import numpy as np
import pytest

import minidl
from minidl import functional as F
from minidl import nn
from minidl.analysis import gradcheck
from minidl.models.densenet import densenet
from minidl.models.densenet_efficient import DenseInput, dense_input

VARIANTS = {"bc": dict(depth=22, growth_rate=4, bottleneck=True, compression=0.5),   # DenseInput op
            "plain": dict(depth=16, growth_rate=4)}                                  # minidl.recompute


def _two_steps(memory_efficient, variant, dtype=np.float64):
    minidl.manual_seed(0)
    model = densenet(**VARIANTS[variant], memory_efficient=memory_efficient).to(dtype)
    opt = minidl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = minidl.tensor(np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(dtype), requires_grad=True)
    for _ in range(2):
        x.grad = None
        opt.zero_grad()
        loss = F.cross_entropy(model(x), np.array([0, 1, 2, 3]))
        loss.backward()
        opt.step()
    return model, loss, x


@pytest.mark.parametrize("variant", VARIANTS)
def test_same_training_as_the_plain_model(variant):
    (ref, ref_loss, ref_x), (ours, loss, x) = _two_steps(False, variant), _two_steps(True, variant)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-12)
    assert np.allclose(x.grad, ref_x.grad, rtol=1e-10, atol=1e-14)
    ref_state, state = ref.state_dict(), ours.state_dict()
    assert list(state) == list(ref_state)  # same keys, same order: checkpoints load either way
    for key in ref_state:  # weights after two SGD steps, running statistics, num_batches_tracked
        assert np.allclose(state[key].data, ref_state[key].data, rtol=1e-10, atol=1e-14), key


def test_float32_stays_float32():
    _, loss, x = _two_steps(True, "bc", np.float32)
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize("variant", VARIANTS)
def test_eval_and_no_grad_give_the_plain_model_output(variant):
    ref, _, x = _two_steps(False, variant)
    ours, _, _ = _two_steps(True, variant)
    ref.eval(), ours.eval()
    assert np.allclose(ours(x).data, ref(x).data, rtol=1e-12)
    ref.train(), ours.train()
    with minidl.no_grad():
        assert np.allclose(ours(x).data, ref(x).data, rtol=1e-12)


def test_dense_input_gradcheck():
    rng = np.random.default_rng(0)
    channels_last = np.ascontiguousarray(rng.standard_normal((3, 4, 4, 2)).transpose(0, 3, 1, 2))
    features = [minidl.tensor(rng.standard_normal((3, 3, 4, 4)), requires_grad=True),
                minidl.tensor(np.ascontiguousarray(channels_last.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                              requires_grad=True)]
    norm, conv = nn.BatchNorm2d(5).double(), nn.Conv2d(5, 6, 1, bias=False).double()
    norm.weight.data[...] = rng.uniform(0.5, 1.5, 5)
    norm.bias.data[...] = rng.standard_normal(5)
    assert gradcheck(lambda a, b, w, g, beta: dense_input([a, b], norm, conv),
                     [*features, conv.weight, norm.weight, norm.bias])


def test_nothing_grows_with_the_block_is_stored():
    """After forward, the graph keeps no concatenation: each DenseInput saves only its inputs and vectors."""
    model = densenet(**VARIANTS["bc"], memory_efficient=True).double()
    out = model(minidl.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8))))
    seen, stack, dense_inputs = set(), [out], 0
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        stack += [p for p in t._ctx.parents if p is not None]
        if isinstance(t._ctx, DenseInput):
            dense_inputs += 1
            features = [p.data for p in t._ctx.parents[3:]]
            saved = t._ctx._saved  # mean, inv_std, scale, bias, conv weight, then the features themselves
            assert len(saved) == 5 + len(features) and all(a is f for a, f in zip(saved[5:], features))
            assert saved[4] is t._ctx.parents[2].data and all(a.ndim == 1 for a in saved[:4])
    assert dense_inputs == 9  # 3 blocks of 3 bottleneck layers


def test_lower_peak_memory_of_a_training_step():
    peaks = {}
    for memory_efficient in (False, True):
        minidl.manual_seed(0)
        model = densenet(40, 12, bottleneck=True, compression=0.5, memory_efficient=memory_efficient)
        x = minidl.tensor(np.random.default_rng(0).standard_normal((8, 3, 16, 16)).astype(np.float32))
        tracemalloc.start()
        F.cross_entropy(model(x), np.arange(8) % 10).backward()
        peaks[memory_efficient] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[True] < 0.75 * peaks[False]


def test_a_dense_layer_names_its_parts():
    """norm -> [bottleneck -> bottleneck_norm] -> conv: the same names whether or not there is a bottleneck."""
    from minidl.models.densenet import DenseLayer
    b = DenseLayer(24, 12, bottleneck=True)
    assert (b.bottleneck.kernel_size, b.bottleneck.out_channels, b.conv.kernel_size, b.conv.in_channels) == \
        ((1, 1), 48, (3, 3), 48)
    assert b.input_conv is b.bottleneck and b.norm.num_features == 24 and b.bottleneck_norm.num_features == 48
    plain = DenseLayer(24, 12)
    assert plain.bottleneck is None and plain.bottleneck_norm is None and plain.input_conv is plain.conv
    assert [k for k in plain.state_dict() if k.endswith("weight")] == ["norm.weight", "conv.weight"]
    assert [k for k in b.state_dict() if k.endswith("weight")] == \
        ["norm.weight", "bottleneck.weight", "bottleneck_norm.weight", "conv.weight"]
