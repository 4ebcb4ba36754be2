"""What a real GPU would hit first (issue 21), each checked through the stand-in for CuPy: an API that CuPy 13
lacks, a float64 array in a float32 backward, GEMM operands that cuBLAS would copy, a random-state log that
grows with every draw, and a loader thread that copies batches to GPU 0 whatever GPU the program uses."""


def test_max_along_a_dim_backward_uses_only_what_cupy_13_has(stand_in):
    result = stand_in("""
import json
import cupy
grads = {}
for device in ("cpu", "cuda"):
    x = minidl.tensor(np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]]), device=device, requires_grad=True)
    values, indices = x.max(dim=1)
    (values * minidl.tensor(np.array([2.0, 3.0]), device=device)).sum().backward()
    y = minidl.tensor(np.array([[1.0, 5.0], [7.0, 2.0]]), device=device, requires_grad=True)
    y.min(dim=0, keepdim=True).values.sum().backward()
    grads[device] = [minidl.backend.to_device(g, "cpu").tolist() for g in (x.grad, y.grad)]
try:
    cupy.put_along_axis
    refused = False
except AttributeError:
    refused = True
print(json.dumps(dict(grads=grads, refused=refused)))
""")
    assert result["refused"]  # the stand-in offers only what every supported CuPy has
    assert result["grads"]["cuda"] == result["grads"]["cpu"] == [[[0, 2, 0], [3, 0, 0]], [[1, 0], [0, 1]]]


def test_a_float32_leaky_relu_makes_no_float64_array_on_the_gpu(stand_in):
    result = stand_in("""
import json
import cupy
x = minidl.tensor(np.array([-2.0, 0.5, 3.0], np.float32), device="cuda", requires_grad=True)
cupy.counter.reset()
minidl.functional.leaky_relu(x, 0.1).sum().backward()
print(json.dumps(dict(dtypes=dict(cupy.counter.dtypes), grad=x.grad.get().tolist())))
""")
    assert "float64" not in result["dtypes"], result["dtypes"]
    assert result["grad"] == [0.10000000149011612, 1.0, 1.0]  # float32(0.1)


def test_grouped_conv_backward_gives_cublas_every_operand_in_place(stand_in):
    result = stand_in("""
import json
import cupy
from minidl import functional as F
x = minidl.tensor(np.ones((2, 4, 6, 6), np.float32), device="cuda", requires_grad=True)
w = minidl.tensor(np.ones((6, 2, 3, 3), np.float32), device="cuda", requires_grad=True)
cupy.counter.reset()
F.conv2d(x, w, padding=1, groups=2).sum().backward()
print(json.dumps(cupy.counter.gemm_copies))
""")
    assert result == 0  # cuBLAS reads a matrix in place only when it is C- or F-contiguous: CuPy copies others


def test_the_gpu_random_state_stays_small_when_draw_shapes_alternate(stand_in):
    result = stand_in("""
import json
import cupy
from minidl._device_random import DeviceRandom
generator = DeviceRandom(cupy, seed=5)
lengths, states, after = [], [], []
for step in range(300):
    generator.random_sample((4, 3 + step % 2), np.float32)  # two dropout layers of different widths
    lengths.append(len(generator.state()["draws"]))
    if step in (40, 200):
        states.append(generator.state())
        after.append(generator.random_sample((2, 2), np.float32).get().tolist())
replayed = [DeviceRandom(cupy, **state).random_sample((2, 2), np.float32).get().tolist() for state in states]
print(json.dumps(dict(longest=max(lengths), after=after, replayed=replayed)))
""")
    assert result["longest"] <= 32  # 300 draws alternating in shape: at most 32 log entries (MAX_LOG)
    assert result["replayed"] == result["after"]  # a saved state still puts the generator exactly where it was


def test_a_loader_thread_copies_batches_to_the_consumers_gpu(stand_in):
    result = stand_in("""
import json
import threading
import cupy
from minidl import backend
from minidl.data import gpu_copy
cupy.cuda.Device(1).use()  # the program works on GPU 1
device = backend.current_gpu()
batch = np.arange(6, dtype=np.float32).reshape(2, 3)
copies = {}
def load():  # a new thread starts on GPU 0, as in CUDA
    copies["given"] = gpu_copy.to_gpu(batch, device)
    copies["default"] = gpu_copy.to_gpu(batch)
    copies["plain"] = backend.to_gpu(batch, device)  # the textbook path's copy
worker = threading.Thread(target=load)
worker.start()
worker.join()
print(json.dumps(dict(device=device, given=copies["given"].device.id, default=copies["default"].device.id,
                      plain=copies["plain"].device.id,
                      values=copies["given"].get().tolist(), sum=float((copies["given"] * 2).sum()))))
""", devices=2)
    assert result["device"] == 1
    assert result["given"] == result["plain"] == 1 and result["values"] == [[0, 1, 2], [3, 4, 5]] and result["sum"] == 30
    assert result["default"] == 0  # what to_gpu without a device gives in such a thread: why the loader passes it


def test_the_data_loader_puts_batches_on_the_gpu_the_program_selected(stand_in):
    result = stand_in("""
import json
import cupy
from minidl.data import DataLoader, TensorDataset
cupy.cuda.Device(1).use()
data = TensorDataset(np.arange(48, dtype=np.float32).reshape(4, 3, 2, 2), np.arange(4))
devices = [(x.data.device.id, y.data.device.id) for x, y in DataLoader(data, batch_size=2, device="cuda")]
print(json.dumps(dict(devices=devices)))
""", devices=2)
    assert result["devices"] == [[1, 1], [1, 1]]


def test_a_cupy_without_nvrtc_gets_an_error_naming_the_extras(stand_in):
    result = stand_in("""
import json
import cupy
def no_nvrtc(*args, **kwargs):
    raise RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: cannot open shared object file")
cupy.RawModule = no_nvrtc
x = minidl.tensor(np.ones((1, 1, 4, 4), np.float32), device="cuda")
try:
    minidl.functional.max_pool2d(x, 2)
    message = None
except RuntimeError as error:
    message = str(error)
print(json.dumps(message))
""")
    assert result.startswith("pool.max_pool2d_forward: CuPy could not compile or load minidl's kernel (CuPy failed")
    assert "pip install 'minidl[gpu]'" in result and "'minidl[gpu-cuda13]'" in result
