"""Every kernel source compiles through NVRTC exactly as CuPy's RawModule compiles it on an H100/H200, with no
warning: minidl's options (kernels.compile_options) followed by the ones CuPy adds on a device of compute
capability 9.0 (cupy/cuda/compiler.py: -ftz=true, then -arch=sm_90, or -arch=compute_90 where CuPy makes
PTX, then --device-as-default-execution-space), in float and double.

NVRTC comes from the `nvidia-cuda-nvrtc-cu12` wheel of the test extra and is called through ctypes: no GPU,
driver or CuPy needed, so CI proves the compile a device will run, not only nvcc's."""
import ctypes
import importlib.metadata
import platform
import sys
from pathlib import Path

import pytest

import minidl.kernels
from minidl.kernels import compile_options, source
from cuda_emulation import KERNEL

FAMILIES = sorted(p.stem for p in Path(minidl.kernels.__file__).parent.glob("*.cu"))
CUPY_OPTIONS = {"sm_90": ("-ftz=true", "-arch=sm_90", "--device-as-default-execution-space"),
                "compute_90": ("-ftz=true", "-arch=compute_90", "--device-as-default-execution-space")}
WHEEL_PLATFORM = sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64")  # where the extra has it


def _library():
    """libnvrtc.so.* inside the installed nvidia-cuda-nvrtc-cu12 wheel, loaded."""
    try:
        files = importlib.metadata.files("nvidia-cuda-nvrtc-cu12") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    found = [f.locate() for f in files if f.name.startswith("libnvrtc.so.")]
    if not found:
        if not WHEEL_PLATFORM:
            pytest.skip(f"the nvidia-cuda-nvrtc-cu12 wheel has no build for {sys.platform}/{platform.machine()}")
        pytest.fail("NVRTC is missing: install the test extra (pip install -e '.[test]'), which brings the "
                    "nvidia-cuda-nvrtc-cu12 wheel")
    return ctypes.CDLL(str(found[0]))


@pytest.fixture(scope="module")
def nvrtc():
    return _library()


def _compile(nvrtc, code, name, options):
    """(status, log, binary) of one NVRTC compile: the cubin for -arch=sm_XX, else the PTX."""
    program = ctypes.c_void_p()
    assert nvrtc.nvrtcCreateProgram(ctypes.byref(program), code.encode(), f"{name}.cu".encode(), 0, None, None) == 0
    try:
        encoded = [o.encode() for o in options]
        status = nvrtc.nvrtcCompileProgram(program, len(encoded), (ctypes.c_char_p * len(encoded))(*encoded))
        size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetProgramLog(program, log)
        binary = b""
        if status == 0:
            kind = "CUBIN" if any(o.startswith("-arch=sm_") for o in options) else "PTX"
            getattr(nvrtc, f"nvrtcGet{kind}Size")(program, ctypes.byref(size))
            out = ctypes.create_string_buffer(size.value)
            getattr(nvrtc, f"nvrtcGet{kind}")(program, out)
            binary = out.raw
        return status, log.value.decode(errors="replace").strip(), binary
    finally:
        nvrtc.nvrtcDestroyProgram(ctypes.byref(program))


def test_nvrtc_is_a_cuda_12_release(nvrtc):
    major, minor = ctypes.c_int(), ctypes.c_int()
    assert nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)) == 0
    assert major.value == 12, f"NVRTC {major.value}.{minor.value}"


@pytest.mark.parametrize("arch", sorted(CUPY_OPTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("family", FAMILIES)
def test_compiles_as_cupy_compiles_it_on_a_device(nvrtc, family, dtype, arch):
    code = source(family)
    options = (*compile_options(dtype), *CUPY_OPTIONS[arch])
    status, log, binary = _compile(nvrtc, code, family, options)
    assert status == 0, f"NVRTC failed ({status}) on {family}.cu with {' '.join(options)}:\n{log}"
    assert log == "", f"NVRTC warned on {family}.cu with {' '.join(options)}:\n{log}"
    for name, _ in KERNEL.findall(code):  # extern "C": every kernel under its own name, for get_function
        assert name.encode() + (b"(" if arch.startswith("compute") else b"\0") in binary, name
