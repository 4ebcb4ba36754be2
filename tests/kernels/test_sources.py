"""Every kernel source compiles with nvcc for sm_80 (A100) and sm_90 (H100/H200), in float and double, and
keeps to what the CPU emulation and NVRTC (CuPy's compiler) support."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import minidl.kernels
from minidl.kernels import compile_options
from cuda_emulation import KERNEL

SOURCES = sorted(Path(minidl.kernels.__file__).parent.glob("*.cu"))
# Kernels the emulation tests check against the NumPy path (test_kernels.py); a new kernel must join them.
TESTED = {"im2col", "col2im", "max_pool2d_forward", "max_pool2d_backward", "sum_chunks", "finish_mean",
          "squared_deviation_chunks", "finish_variance", "batch_norm_forward", "gradient_chunks",
          "finish_gradient_sums", "batch_norm_backward", "add_relu", "relu_backward", "highway_combine",
          "highway_combine_backward", "update_running_stats", "sgd_momentum_step"}


def test_sources_exist_and_every_kernel_is_tested():
    names = {name for source in SOURCES for name, _ in KERNEL.findall(source.read_text())}
    assert len(SOURCES) == 5
    assert names == TESTED


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_warp_synchronous_code_or_headers(source):
    """Warp intrinsics would break the one-thread-at-a-time emulation; NVRTC has no system headers or INFINITY."""
    text = re.sub(r"//.*", "", source.read_text())
    for forbidden in ("__shfl", "__syncwarp", "warpSize", "__ballot", "__any", "__all", "#include", "INFINITY",
                      "atomic"):
        assert forbidden not in text, f"{source.name} uses {forbidden}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_compiles_for_sm80_and_sm90(source, dtype, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc (the CUDA compiler) is not on PATH, so the kernel sources cannot be compiled here")
    binary = tmp_path / f"{source.stem}.fatbin"
    command = [nvcc, *compile_options(dtype), "-Werror", "all-warnings", "-fatbin", "-o", str(binary),
               "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=sm_90", str(source)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert binary.stat().st_size > 0
    cuobjdump = shutil.which("cuobjdump") or str(Path(nvcc).resolve().parent / "cuobjdump")
    if Path(cuobjdump).exists():  # both machine codes are in the binary
        listed = subprocess.run([cuobjdump, "--list-elf", str(binary)], capture_output=True, text=True).stdout
        assert "sm_80" in listed and "sm_90" in listed, listed
