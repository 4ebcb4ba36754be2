"""The CPU emulation itself: barriers, shared memory, the grid's indices, and the checks of launch arguments."""
import numpy as np
import pytest

import cuda_emulation as emulation

pytestmark = pytest.mark.skipif(emulation.compiler() is None,
                                reason="g++ is not on PATH, so CUDA kernels cannot be emulated on the CPU")

REVERSE = """
// Each block reverses its slice of x through shared memory: correct only if the barrier holds every thread
// until all have written (run one thread after another without it, thread 0 would read an unwritten slot).
extern "C" __global__ void reverse(const real* x, real* out) {
    __shared__ real slots[64];
    int base = blockIdx.x * blockDim.x;
    slots[threadIdx.x] = x[base + threadIdx.x];
    __syncthreads();
    out[base + threadIdx.x] = slots[blockDim.x - 1 - threadIdx.x];
}

extern "C" __global__ void diverge(real* out) {
    if (threadIdx.x == 0) return;  // thread 0 never reaches the barrier the others wait at
    __syncthreads();
    out[threadIdx.x] = 1;
}

extern "C" __global__ void where_am_i(int* out) {
    int thread = threadIdx.x + blockDim.x * threadIdx.y;
    int block = blockIdx.x + gridDim.x * blockIdx.y;
    out[block * blockDim.x * blockDim.y + thread] = 1000 * block + thread;
}
"""


@pytest.fixture(scope="module")
def module():
    return emulation.EmulatedModule(code=REVERSE, options=("-std=c++17", "-Dreal=double"))


def test_barriers_and_shared_memory(module):
    x = np.arange(3 * 64, dtype=np.float64)
    out = np.empty_like(x)
    module.get_function("reverse")((3,), (64,), (x, out))
    np.testing.assert_array_equal(out, x.reshape(3, 64)[:, ::-1].ravel())


def test_a_barrier_not_reached_by_every_thread_is_an_error(module):
    with pytest.raises(RuntimeError, match="__syncthreads"):
        module.get_function("diverge")((1,), (4,), (np.zeros(4),))


def test_two_dimensional_grid_and_block_indices(module):
    out = np.zeros(2 * 3 * 4 * 2, np.int32)
    module.get_function("where_am_i")((2, 3), (4, 2), (out,))
    blocks, threads = np.divmod(np.arange(out.size), 8)
    np.testing.assert_array_equal(out, 1000 * blocks + threads)


@pytest.mark.parametrize("args, message", [
    ((np.zeros(4, np.float32), np.zeros(4)), "points to float64, got an array of float32"),
    ((np.zeros(4),), "expected 2 arguments"),
    ((np.zeros(4), 3.0), "needs an array"),
])
def test_arguments_are_checked_against_the_declaration(module, args, message):
    with pytest.raises(TypeError, match=message):
        module.get_function("reverse")((1,), (4,), args)


def test_scalar_arguments_must_have_the_declared_type():
    module = emulation.EmulatedModule(code='extern "C" __global__ void fill(real* out, real value, int size) '
                                           '{ if (threadIdx.x < size) out[threadIdx.x] = value; }',
                                      options=("-Dreal=float",))
    out = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match="'value' is float32"):
        module.get_function("fill")((1,), (4,), (out, np.float64(2), np.int32(3)))
    module.get_function("fill")((1,), (4,), (out, np.float32(2), np.int32(3)))
    np.testing.assert_array_equal(out, [2, 2, 2])


def test_unknown_kernel_name(module):
    with pytest.raises(AttributeError, match="no kernel named 'missing'"):
        module.get_function("missing")


@pytest.mark.parametrize("grid, block", [((1,), (1025,)), ((1,), (64, 32)), ((1,), (1, 1, 65)),
                                         ((1, 65536), (32,)), ((0,), (32,)), ((1,), (0,))])
def test_launches_a_gpu_would_refuse_are_refused(module, grid, block):
    """More than 1024 threads a block, a block or grid dimension over CUDA's limits, or an empty one."""
    with pytest.raises(ValueError, match="is not a valid CUDA launch"):
        module.get_function("where_am_i")(grid, block, (np.zeros(1 << 16, np.int32),))


def test_only_kernels_that_reach_a_barrier_run_as_coroutines():
    """Found through the functions a kernel calls, templates included; the others run one thread at a time."""
    code = """
template <int N> __device__ void wait() { __syncthreads(); }
__device__ void outer() { wait<1>(); }
__device__ int twice(int v) { if (v) { return 2 * v; } return 0; }
extern "C" __global__ void a(real* x) { outer(); }
extern "C" __global__ void b(real* x) { x[threadIdx.x] = twice(1); }
"""
    reaching = emulation._with_barriers(code)
    assert {"a", "outer", "wait"} <= reaching and not {"b", "twice"} & reaching


def test_without_the_tests_emulator_a_kernel_refuses_numpy_arrays(monkeypatch):
    """The emulation is test code: the package alone runs its kernels on CuPy arrays only, and says so."""
    import numpy as np
    import pytest

    from minidl import kernels
    monkeypatch.setattr(kernels, "emulator", None)
    monkeypatch.setattr(kernels, "_functions", {})
    with pytest.raises(TypeError, match=r"elementwise\.add_relu: .*CuPy arrays, got a NumPy array"):
        kernels.function("elementwise", "add_relu", np.zeros(3, np.float32))
