"""train(..., device="cuda") through the NumPy-backed stand-in for CuPy: no host array reaches a device op
(the stand-in raises), the epoch's metrics are read once per epoch, and the results equal the CPU's."""
import pytest

COUNTED_TRAIN = """
import json
import cupy
from minidl.training import loop
epochs = []
original = loop._train_one_epoch
def counted(*args, **kwargs):
    cupy.counter.reset()
    record = original(*args, **kwargs)
    epochs.append(dict(syncs=cupy.counter.syncs, launches=cupy.counter.launches,
                       sites=dict(cupy.counter.sync_sites), async_copies=cupy.counter.async_copies))
    return record
loop._train_one_epoch = counted
evaluations = []
original_evaluate = loop.evaluate
def counted_evaluate(*args, **kwargs):
    cupy.counter.reset()
    result = original_evaluate(*args, **kwargs)
    evaluations.append(cupy.counter.syncs)
    return result
loop.evaluate = counted_evaluate
"""


def test_training_on_the_stand_in_syncs_once_per_epoch_and_matches_the_cpu(stand_in):
    result = stand_in(COUNTED_TRAIN + """
gpu = minidl.train(small_cnn(), data=tiny, epochs=2, batch_size=16, lr=0.05, device="cuda", progress=False)
loop._train_one_epoch, loop.evaluate = original, original_evaluate
cpu = minidl.train(small_cnn(), data=tiny, epochs=2, batch_size=16, lr=0.05, device="cpu", progress=False)
print(json.dumps(dict(epochs=epochs, evaluations=evaluations, gpu=gpu.records, cpu=cpu.records)))
""")
    steps = 3  # 48 images in batches of 16
    for epoch in result["epochs"]:
        print(f"stand-in epoch of {steps} steps: {epoch['syncs']} host syncs at {epoch['sites']}, "
              f"{epoch['launches']} kernel launches")
        assert epoch["syncs"] <= 1, epoch["sites"]  # the metrics, read when the epoch ends
        assert epoch["async_copies"] == 2 * steps  # x and y of each batch, from pinned memory on a copy stream
    assert result["evaluations"] == [1, 1]  # the test set's loss and accuracy, read once per evaluation
    for gpu, cpu in zip(result["gpu"], result["cpu"]):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert gpu[key] == pytest.approx(cpu[key], rel=1e-5, abs=1e-6), key


def test_resnet20_step_on_the_stand_in_kernel_launches_and_syncs(stand_in):
    result = stand_in(COUNTED_TRAIN + """
from minidl.models.resnet import resnet
x = np.random.default_rng(1).standard_normal((16, 3, 32, 32)).astype(np.float32)
y = np.arange(16) % 10
minidl.manual_seed(0)
minidl.train(resnet(20), data=(x, y, x[:8], y[:8]), epochs=1, batch_size=8, device="cuda", progress=False)
print(json.dumps(epochs[0]))
""")
    steps = 2
    per_step = result["launches"] / steps
    print(f"resnet20 on the stand-in: {per_step:.0f} kernel launches and {result['syncs'] / steps} host syncs "
          f"per training step (batch 8)")
    assert result["syncs"] <= steps, result["sites"]
    assert 0 < per_step < 5000


def test_a_non_finite_loss_on_the_gpu_names_its_epoch_and_step(stand_in):
    result = stand_in("""
import json, warnings
warnings.simplefilter("ignore")
from minidl.training import TrainingDiverged
try:
    minidl.train(small_cnn(), data=tiny, epochs=1, batch_size=16, lr=1e30, device="cuda", progress=False)
    message = None
except TrainingDiverged as error:
    message = str(error)
print(json.dumps(message))
""")
    assert result is not None and "epoch 1, step" in result


def test_gpu_dropout_masks_are_restored_on_resume(stand_in, tmp_path):
    result = stand_in(f"""
import json
settings = dict(data=tiny, epochs=3, batch_size=16, lr=0.05, progress=False, seed=1, device="cuda")
full = minidl.train(small_cnn(0.5), **settings)
model = small_cnn(0.5)
steps = {{"n": 0}}
forward = model.forward
def forward_then_interrupt(x):
    steps["n"] += model.training
    if steps["n"] > 3:  # the first step of epoch 2
        raise KeyboardInterrupt
    return forward(x)
model.forward = forward_then_interrupt
path = {str(tmp_path / "run.npz")!r}
minidl.train(model, checkpoint=path, **settings)
resumed = minidl.train(small_cnn(0.5), checkpoint=path, resume=True, **settings)
from minidl import backend
print(json.dumps(dict(full=full.records, resumed=resumed.records, draws=backend.get_rng_state()["cupy"]["draws"])))
""")
    assert len(result["resumed"]) == 3
    for a, b in zip(result["full"], result["resumed"]):
        for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key
    assert {dtype for _, dtype, _ in result["draws"]} == {"float32"}  # masks drawn in the tensor's dtype
