"""Array-module selection (NumPy on the CPU, CuPy on a GPU), device moves, default dtype and random state.

Every op asks `get_array_module(array)` for the module that owns its inputs, so one code path serves
both devices. CuPy is optional: without it everything runs on NumPy.
"""
import numpy as np

from . import device_checks

try:  # CuPy is the optional `gpu` extra; any failure to import it simply means "no GPU".
    import cupy as cp
except Exception:  # pragma: no cover - depends on the machine
    cp = None

_default_dtype = np.dtype(np.float32)
_rngs = {}  # one generator per array module, created by manual_seed or on first use


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    if cp is None:
        return False
    try:
        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the given arrays (NumPy for Python scalars)."""
    if cp is not None:
        return cp.get_array_module(*arrays)
    return np


def device_of(array):
    """'cuda' for a CuPy array, 'cpu' for anything else."""
    return "cuda" if cp is not None and isinstance(array, cp.ndarray) else "cpu"


def normalize_device(device):
    """Accept 'cpu', 'cuda', 'cuda:0' (or None for 'cpu'); return 'cpu' or 'cuda'.

    minidl runs on one GPU, CuPy's current device (device 0 unless the program selected another): any
    other index is refused rather than silently run on that device.
    """
    name = "cpu" if device is None else str(device)
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not gpu_available():
            raise RuntimeError(f"device '{name}' was requested but CuPy or a CUDA GPU is missing; "
                               "install the `gpu` extra on a machine with an NVIDIA GPU, or use device='cpu'")
        index = name[len("cuda:"):] if name.startswith("cuda:") else "0"
        if index != "0":
            count = cp.cuda.runtime.getDeviceCount()
            raise ValueError(f"device '{name}': minidl runs on one GPU, 'cuda' or 'cuda:0' ({count} visible); "
                             f"to use another one, make it the only visible GPU (CUDA_VISIBLE_DEVICES={index})")
        return "cuda"
    raise ValueError(f"unknown device '{device}': expected 'cpu' or 'cuda'")


def current_gpu():
    """The id of the calling thread's current GPU (a new thread starts on GPU 0, whatever its starter uses)."""
    return cp.cuda.Device().id


def to_gpu(array, gpu):
    """A CuPy copy of the host array `array` on GPU `gpu` (an id, e.g. another thread's `current_gpu()`)."""
    with cp.cuda.Device(gpu):
        return cp.asarray(array)


def device_key(xp):
    """'numpy', or 'cupy:<id>' of the current GPU: the key of caches holding arrays of one device."""
    return "numpy" if xp is np else f"cupy:{cp.cuda.Device().id}"


def to_device(array, device):
    """Move a raw array to 'cpu' or 'cuda' (a no-op when it is already there)."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cuda":
        return cp.asarray(array)
    return device_checks.read(array, cp)  # also reads the queued checks of GPU data, in the same synchronisation


def xp_for(device):
    """The array module of a device name."""
    return cp if normalize_device(device) == "cuda" else np


def get_default_dtype():
    """The floating dtype new tensors get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Set the floating dtype of new tensors (float32 or float64)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed):
    """Seed every generator the framework draws from (initialisation, dropout, shuffling defaults).

    The GPU's generator is only created when a GPU array first needs random numbers, so seeding never
    touches CuPy (which may be installed on a machine whose GPU, or curand, is unusable).
    """
    _rngs.clear()
    _rngs["numpy"] = np.random.default_rng(seed)
    # An int seeds the GPU's generator as it is; other seeds (None, sequences) leave it a fresh one.
    gpu_seed = int(seed) if isinstance(seed, (int, np.integer)) else None
    _rngs["cupy_state"] = {"seed": gpu_seed, "draws": []}


def rng(xp=np):
    """The framework's generator for an array module: a numpy.random.Generator, or for CuPy a DeviceRandom."""
    if cp is not None and xp is cp:
        if "cupy" not in _rngs:
            from ._device_random import DeviceRandom
            _rngs["cupy"] = DeviceRandom(cp, **_rngs.get("cupy_state", {}))
            _rngs.pop("cupy_state", None)
        return _rngs["cupy"]
    if "numpy" not in _rngs:
        _rngs["numpy"] = np.random.default_rng()
    return _rngs["numpy"]


def get_rng_state():
    """The generators' states as a JSON-ready dict (for checkpoints): NumPy's, and the GPU's when it exists."""
    state = {"numpy": rng(np).bit_generator.state}
    if "cupy" in _rngs:
        state["cupy"] = _rngs["cupy"].state()
    elif "cupy_state" in _rngs:
        state["cupy"] = _rngs["cupy_state"]
    return state


def set_rng_state(state):
    """Restore a state returned by get_rng_state (the GPU's generator is rebuilt when next used)."""
    if "numpy" not in state:  # a checkpoint written before the GPU's state was saved: NumPy's state alone
        state = {"numpy": state}
    rng(np).bit_generator.state = state["numpy"]
    _rngs.pop("cupy", None)
    _rngs.pop("cupy_state", None)
    if "cupy" in state:
        _rngs["cupy_state"] = state["cupy"]
