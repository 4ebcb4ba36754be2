"""Every public op of minidl.functional with operands of mixed dtypes (float32 and float64), on the stand-in GPU
against NumPy: the same values (to float32 rounding), result dtypes and gradient dtypes, or the same error.

The gradient reaching each op is float64 (its output is weighted by a float64 tensor), so single-input ops meet
mixed dtypes in backward too. The GPU kernels run on the CPU emulation, which refuses any argument whose type
differs from the kernel's declaration: where CuPy would read a float64 buffer as floats, this test fails."""
import numpy as np
import pytest

SNIPPET = """
import json
from minidl import backend
from minidl import functional as F

f32, f64 = np.float32, np.float64
IMG = (2, 3, 6, 6)
UNARY = {
    "gelu": F.gelu, "leaky_relu": lambda x: F.leaky_relu(x, 0.1), "log_softmax": lambda x: F.log_softmax(x, 1),
    "relu": F.relu, "sigmoid": F.sigmoid, "softmax": lambda x: F.softmax(x, 1), "softplus": F.softplus,
    "tanh": F.tanh, "abs": F.abs, "exp": F.exp, "log": F.log, "neg": F.neg, "sqrt": F.sqrt,
    "clamp": lambda x: F.clamp(x, 0.5, 1.5), "astype": lambda x: F.astype(x, f64), "dropout": lambda x: F.dropout(x, 0.0),
    "max_pool2d": lambda x: F.max_pool2d(x, 2), "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 1), "amax": lambda x: F.amax(x, 1),
    "amin": lambda x: F.amin(x, 1), "max": lambda x: F.max(x, 1).values, "min": lambda x: F.min(x, 1).values,
    "mean": lambda x: F.mean(x, 1), "sum": lambda x: F.sum(x, 1), "var": lambda x: F.var(x, 1),
    "argmax": lambda x: F.argmax(x, 1), "argmin": lambda x: F.argmin(x, 1), "chunk": lambda x: F.chunk(x, 3, 1)[1],
    "expand": lambda x: F.expand(x[:, :1], 2, 3, 6, 6), "flatten": lambda x: F.flatten(x, 1),
    "pad": lambda x: F.pad(x, (1, 1, 1, 1)), "permute": lambda x: F.permute(x, (0, 2, 3, 1)),
    "reshape": lambda x: F.reshape(x, (2, -1)), "split": lambda x: F.split(x, 2, 1)[0],
    "squeeze": lambda x: F.squeeze(x[:, :1], 1), "transpose": lambda x: F.transpose(x, 1, 2),
    "unsqueeze": lambda x: F.unsqueeze(x, 0), "view": lambda x: F.view(x, (6, -1)),
    "index": lambda x: F.index(x, (slice(None), 1)), "to_device": lambda x: F.to_device(x, x.device),
}
target = lambda x: minidl.tensor(np.arange(4), device=x.device)
CASES = {name: ([(IMG, f32)], op) for name, op in UNARY.items()}
for name, op in [("add", F.add), ("sub", F.sub), ("mul", F.mul), ("div", F.div), ("pow", F.pow),
                 ("maximum", F.maximum), ("minimum", F.minimum), ("add_relu", F.add_relu), ("mse_loss", F.mse_loss),
                 ("cat", lambda a, b: F.cat([a, b], 1)), ("stack", lambda a, b: F.stack([a, b], 0)),
                 ("where", lambda a, b: F.where(a > 1, a, b))]:
    CASES[name] = ([(IMG, f32), (IMG, f64)], op)
CASES.update({
    "add_relu (float64, float32)": ([(IMG, f64), (IMG, f32)], F.add_relu),
    "add_relu (fused: float32, float32)": ([(IMG, f32), (IMG, f32)], F.add_relu),  # the float64 gradient meets
    "highway_combine (fused: float32 x 3)": ([(IMG, f32)] * 3, F.highway_combine),  # float32 saved arrays
    "highway_combine": ([(IMG, f32), (IMG, f64), (IMG, f32)], F.highway_combine),
    "highway_combine (float64 gate)": ([(IMG, f64), (IMG, f32), (IMG, f32)], F.highway_combine),
    "matmul": ([((4, 5), f32), ((5, 3), f64)], F.matmul),
    "linear": ([((4, 5), f32), ((3, 5), f64), ((3,), f64)], F.linear),
    "conv2d": ([(IMG, f32), ((4, 3, 3, 3), f64)], lambda x, w: F.conv2d(x, w, padding=1)),  # refused: one dtype
    "conv2d (groups, stride)": ([((2, 4, 6, 6), f32), ((4, 2, 3, 3), f32), ((4,), f32)],
                                lambda x, w, b: F.conv2d(x, w, b, stride=2, groups=2)),
    "batch_norm": ([(IMG, f32), ((3,), f64), ((3,), f64), ((3,), f64), ((3,), f64)],
                   lambda x, w, b, rm, rv: F.batch_norm(x, rm.data, rv.data, w, b, training=True)),
    "batch_norm (float64 input)": ([(IMG, f64), ((3,), f32), ((3,), f32), ((3,), f32), ((3,), f32)],
                                   lambda x, w, b, rm, rv: F.batch_norm(x, rm.data, rv.data, w, b, training=True)),
    "cross_entropy": ([((4, 10), f32)], lambda x: F.cross_entropy(x, target(x))),
    "nll_loss": ([((4, 10), f32)], lambda x: F.nll_loss(F.log_softmax(x, 1), target(x))),
})


def host(array):
    return backend.to_device(array, "cpu").tolist()


def run(device):
    results = {}
    for name, (specs, op) in CASES.items():
        rng = np.random.default_rng(0)
        tensors = [minidl.tensor(np.abs(rng.standard_normal(shape)).astype(dtype) + 0.5, device=device,
                                 requires_grad=True) for shape, dtype in specs]
        try:
            out = op(*tensors)
        except Exception as error:
            results[name] = {"error": type(error).__name__, "message": str(error)}
            continue
        weight = minidl.tensor(rng.standard_normal(out.shape), device=device)  # float64
        try:
            if out.dtype.kind == "f":
                (out * weight).sum().backward()
        except Exception as error:
            results[name] = {"error": "backward: " + type(error).__name__, "message": str(error)}
            continue
        results[name] = {"out": [str(out.dtype), host(out.data)],
                         "grads": [None if t.grad is None else [str(t.grad.dtype), host(t.grad)] for t in tensors],
                         "inputs": [host(t.data) for t in tensors]}  # running buffers, updated in place
    return results


print(json.dumps(dict(public=sorted(F.__all__), cpu=run("cpu"), cuda=run("cuda"))))
"""


@pytest.fixture(scope="module")
def results():
    from .conftest import run_with_stand_in
    return run_with_stand_in(SNIPPET)


def _close(name, what, cpu, gpu):
    cpu, gpu = np.asarray(cpu, float), np.asarray(gpu, float)
    scale = max(1.0, float(np.abs(cpu).max())) if cpu.size else 1.0
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-5 * scale, err_msg=f"{name}: {what}")


def test_every_public_op_is_covered(results):
    covered = {name.split(" ")[0] for name in results["cpu"]}
    assert covered == set(results["public"])


def test_mixed_dtypes_on_the_gpu_give_what_numpy_gives(results):
    problems = []
    for name, cpu in results["cpu"].items():
        gpu = results["cuda"][name]
        if "error" in cpu or "error" in gpu:
            if cpu.get("error") != gpu.get("error"):
                problems.append(f"{name}: cpu {cpu.get('message', 'ok')!r}, gpu {gpu.get('message', 'ok')!r}")
            continue
        if gpu["out"][0] != cpu["out"][0]:
            problems.append(f"{name}: output dtype {gpu['out'][0]} on the GPU, {cpu['out'][0]} on the CPU")
        _close(name, "output", cpu["out"][1], gpu["out"][1])
        for i, (c, g) in enumerate(zip(cpu["grads"], gpu["grads"])):
            if (c is None) != (g is None) or (c and c[0] != g[0]):
                problems.append(f"{name}: gradient {i} is {g and g[0]} on the GPU, {c and c[0]} on the CPU")
            elif c is not None:
                _close(name, f"gradient {i}", c[1], g[1])
        for i, (c, g) in enumerate(zip(cpu["inputs"], gpu["inputs"])):
            _close(name, f"input {i} after the op", c, g)
    assert not problems, "\n".join(problems)
    assert results["cpu"]["conv2d"]["error"] == "TypeError"  # conv2d refuses mixed input and weight, everywhere
