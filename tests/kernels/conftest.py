"""The `target` fixture: each kernel test runs on the CPU emulation (g++) and, where one exists, on a GPU."""
import numpy as np
import pytest

from minidl import backend
import cuda_emulation as emulation


class Target:
    """Moves test data to where the kernels run (NumPy arrays for the emulation, CuPy arrays on a GPU)."""

    def __init__(self, name):
        self.name = name

    def put(self, array):
        return backend.cp.asarray(array) if self.name == "cuda" else array

    def get(self, array):
        return backend.to_device(array, "cpu") if self.name == "cuda" else array

    def tolerance(self, dtype):
        """Rounding-level agreement: sums in another order (and, on a GPU, fused multiply-adds)."""
        return dict(rtol=1e-12, atol=1e-12) if np.dtype(dtype) == np.float64 else dict(rtol=2e-5, atol=2e-6)


@pytest.fixture(params=["emulation", pytest.param("cuda", marks=pytest.mark.gpu)])
def target(request):
    if request.param == "cuda" and not backend.gpu_available():
        pytest.skip("no CUDA GPU here (or CuPy is missing): the kernels are checked on the CPU emulation only")
    if request.param == "emulation" and emulation.compiler() is None:
        pytest.skip("g++ is not on PATH, so the CUDA kernels cannot be compiled as C++ and emulated on the CPU")
    return Target(request.param)
