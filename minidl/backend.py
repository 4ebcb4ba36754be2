"""Array-module selection (NumPy on the CPU, CuPy on a GPU), device moves, default dtype and random state.

Every op asks `get_array_module(array)` for the module that owns its inputs, so one code path serves
both devices. CuPy is optional: without it everything runs on NumPy.
"""
import numpy as np

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
    """Accept 'cpu', 'cuda', 'cuda:0' (or None for 'cpu'); return 'cpu' or 'cuda'."""
    name = "cpu" if device is None else str(device)
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not gpu_available():
            raise RuntimeError(f"device '{name}' was requested but CuPy or a CUDA GPU is missing; "
                               "install the `gpu` extra on a machine with an NVIDIA GPU, or use device='cpu'")
        return "cuda"
    raise ValueError(f"unknown device '{device}': expected 'cpu' or 'cuda'")


def to_device(array, device):
    """Move a raw array to 'cpu' or 'cuda' (a no-op when it is already there)."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cuda":
        return cp.asarray(array)
    return cp.asnumpy(array)


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
    """Seed every generator the framework draws from (initialisation, dropout, shuffling defaults)."""
    _rngs.clear()
    _rngs["numpy"] = np.random.default_rng(seed)
    if cp is not None:
        _rngs["cupy"] = cp.random.RandomState(seed)


def rng(xp=np):
    """The framework's generator for an array module: numpy.random.Generator or cupy RandomState."""
    key = "cupy" if cp is not None and xp is cp else "numpy"
    if key not in _rngs:
        _rngs[key] = np.random.default_rng() if key == "numpy" else cp.random.RandomState()
    return _rngs[key]


def get_rng_state():
    """The NumPy generator's state as a plain dict (for checkpoints)."""
    return rng(np).bit_generator.state


def set_rng_state(state):
    """Restore a state returned by get_rng_state."""
    rng(np).bit_generator.state = state
