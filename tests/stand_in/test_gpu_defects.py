"""The GPU path's defects, each checked through the stand-in for CuPy: seeding without curand, bounds checks
that CuPy would skip, gradients that own their memory, device indices, and the profiler waiting for the GPU."""
import pytest

CURAND_MISSING = """
import cupy
def missing_curand(*args, **kwargs):
    raise RuntimeError("CURAND_STATUS_INITIALIZATION_FAILED (stand-in for a missing libcurand)")
cupy.random.RandomState = missing_curand
"""


def test_cpu_training_never_creates_a_gpu_random_state(stand_in, tmp_path):
    result = stand_in(CURAND_MISSING + f"""
import json
from minidl import backend
history = minidl.train(small_cnn(0.5), data=tiny, epochs=1, batch_size=16, progress=False,
                       checkpoint={str(tmp_path / "run.npz")!r})
x = minidl.tensor(np.ones((2, 4), np.float32), device="cuda")
try:
    minidl.functional.dropout(x, 0.5)
    error = None
except RuntimeError as caught:
    error = str(caught)
print(json.dumps(dict(epochs=len(history), error=error)))
""")
    assert result["epochs"] == 1
    assert "CURAND" in result["error"]  # the GPU's generator is created when a GPU array needs it, not before


def test_gpu_random_state_is_lazy_and_replayable(stand_in):
    result = stand_in("""
import json
import cupy
from minidl import backend
created = []
class Counted(cupy.random.RandomState):
    def __init__(self, seed=None):
        created.append(seed)
        super().__init__(seed)
cupy.random.RandomState = Counted
minidl.manual_seed(3)
before = len(created)
gen = backend.rng(cupy)
first = gen.random_sample((2, 3), np.float32).get().tolist()
state = backend.get_rng_state()
second = gen.random_sample((2, 3), np.float32).get().tolist()
backend.set_rng_state(state)
again = backend.rng(cupy).random_sample((2, 3), np.float32).get().tolist()
print(json.dumps(dict(before=before, created=created, second=second, again=again, state=state["cupy"])))
""")
    assert result["before"] == 0 and result["created"][0] == 3
    assert result["again"] == result["second"]
    assert result["state"] == {"seed": 3, "draws": [[[2, 3], "float32", 1]]}


def test_out_of_range_indices_on_the_gpu_raise_like_numpy(stand_in):
    result = stand_in("""
import json
x = minidl.tensor(np.arange(12.0).reshape(3, 4), device="cuda", requires_grad=True)
errors = []
for where in ([0, 3], (slice(None), [4]), (Ellipsis, [-5])):
    index = tuple(minidl.tensor(w, device="cuda") if isinstance(w, list) else w for w in where) \\
        if isinstance(where, tuple) else minidl.tensor(where, device="cuda")
    try:
        x[index]
        errors.append(None)
    except IndexError as error:
        errors.append(str(error))
picked = x[minidl.tensor([2, -1, 2], device="cuda")]
picked.sum().backward()
print(json.dumps(dict(errors=errors, grad=x.grad.get().tolist())))
""")
    assert [e and e.split(": ")[-1] for e in result["errors"]] == [
        "index 3 is out of bounds for axis 0 with size 3", "index 4 is out of bounds for axis 1 with size 4",
        "index -5 is out of bounds for axis 1 with size 4"]
    assert result["grad"] == [[0] * 4, [0] * 4, [3] * 4]  # rows 2 and -1 (also 2) accumulate: 3 times row 2


def test_out_of_range_targets_on_the_gpu_raise_at_the_next_read(stand_in):
    result = stand_in("""
import json
import cupy
from minidl import functional as F
logits = minidl.tensor(np.zeros((4, 3), np.float32), device="cuda")
errors = {}
for name, targets in (("ok", [0, 1, 2, 1]), ("high", [0, 1, 3, 1]), ("negative", [0, -1, 2, 1])):
    target = minidl.tensor(np.array(targets), device="cuda")
    cupy.counter.reset()
    loss = F.cross_entropy(logits, target)
    syncs_before_read = cupy.counter.syncs
    try:
        value = loss.item()
        errors[name] = None
    except IndexError as error:
        errors[name] = str(error)
    errors[name + " syncs"] = [syncs_before_read, cupy.counter.syncs]
print(json.dumps(errors))
""")
    assert result["ok"] is None and result["ok syncs"] == [0, 1]
    for name in ("high", "negative"):
        assert "cross_entropy: target values must lie in [0, 3)" in result[name]
        assert result[name + " syncs"] == [0, 1]  # no read in cross_entropy; one read for loss and check


def test_stored_gradients_own_their_memory_so_clipping_is_right(stand_in):
    result = stand_in("""
import json
from minidl.nn.utils import clip_grad_norm_
a = minidl.tensor(np.ones(4, np.float32), device="cuda", requires_grad=True)
b = minidl.tensor(np.ones((3, 4), np.float32), device="cuda", requires_grad=True)
(a + b).sum().backward()  # a's gradient is a sum over rows; b's a broadcast of ones (stride 0 before the fix)
total = clip_grad_norm_([a, b], 1.0)
print(json.dumps(dict(a=a.grad.get().tolist(), b=b.grad.get().tolist(), total=total.item())))
""")
    total = (4 * 9 + 12) ** 0.5
    assert result["total"] == pytest.approx(total, rel=1e-6)
    assert result["a"] == pytest.approx([3 / total] * 4, rel=1e-5)
    assert sum(result["b"], []) == pytest.approx([1 / total] * 12, rel=1e-5)


def test_only_gpu_zero_is_accepted_and_caches_are_keyed_by_device(stand_in):
    result = stand_in("""
import json
import cupy
from minidl import backend
messages = []
for name in ("cuda:1", "cuda:7"):
    try:
        minidl.tensor([1.0]).to(name)
        messages.append(None)
    except ValueError as error:
        messages.append(str(error))
ok = minidl.tensor([1.0]).to("cuda:0").device
with cupy.cuda.Device(1):
    key_1 = backend.device_key(cupy)
print(json.dumps(dict(messages=messages, ok=ok, keys=[backend.device_key(np), backend.device_key(cupy), key_1])))
""", devices=2)
    assert all("minidl runs on one GPU" in m and "CUDA_VISIBLE_DEVICES" in m for m in result["messages"])
    assert result["ok"] == "cuda"
    assert result["keys"] == ["numpy", "cupy:0", "cupy:1"]


def test_profiler_waits_for_the_gpu_only_while_profiling(stand_in):
    result = stand_in("""
import json
import cupy
from minidl import functional as F
x = minidl.tensor(np.ones((4, 4), np.float32), device="cuda", requires_grad=True)
cupy.counter.reset()
(F.relu(x) * 2).sum().backward()
outside = cupy.counter.syncs
cupy.counter.reset()
with minidl.profile() as prof:
    (F.relu(x) * 2).sum().backward()
print(json.dumps(dict(outside=outside, inside=cupy.counter.syncs, ops=prof.op_calls())))
""")
    assert result["outside"] == 0
    assert result["inside"] >= 2 * result["ops"]  # before and after each timed op


def test_maximum_and_minimum_backward_on_the_gpu_match_the_cpu(stand_in):
    result = stand_in("""
import json
grads = {}
for device in ("cpu", "cuda"):
    a = minidl.tensor(np.array([1.0, 2.0, 3.0]), device=device, requires_grad=True)
    b = minidl.tensor(np.array([2.0, 2.0, 1.0]), device=device, requires_grad=True)
    (minidl.functional.maximum(a, b) * 2 + minidl.functional.minimum(a, b) * 3).sum().backward()
    grads[device] = [a.grad.tolist() if device == "cpu" else a.grad.get().tolist(),
                     b.grad.tolist() if device == "cpu" else b.grad.get().tolist()]
print(json.dumps(grads))
""")
    assert result["cuda"] == result["cpu"] == [[3.0, 2.5, 2.0], [2.0, 2.5, 3.0]]
