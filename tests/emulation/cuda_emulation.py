"""Run minidl's CUDA C kernels on the CPU: compile them as C++ with g++ and call them through ctypes.

`EmulatedModule(code=..., options=...)` stands in for `cupy.RawModule`: `get_function(name)` returns a
callable `f(grid, block, args)` that takes NumPy arrays where CuPy takes device arrays. cuda_emulation.h
supplies threadIdx, blockIdx, ... and runs one iteration per thread (coroutines where a kernel has
barriers). Each kernel gets a small generated C++ launcher, so a whole launch is one ctypes call.
Parameters are read from the kernel's declaration, and every argument is checked against its type (CuPy
passes bare pointers and values, so an array or scalar of another dtype would be misread on a GPU), and the
launch configuration against CUDA's limits. Used by the tests (the kernels checked against the NumPy path
without a GPU) and by the stand-in CuPy.
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HEADER = Path(__file__).with_name("cuda_emulation.h")
# extern "C" __global__ void name(parameters): the only kernel declaration style minidl's sources use
KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
FUNCTION = re.compile(r"\b(\w+)\s*\([^;{}()]*\)\s*(?:const\s*)?\{")  # a definition: name(parameters) {
SCALARS = {"int": np.int32, "unsigned char": np.uint8, "float": np.float32, "double": np.float64}
CTYPES = {np.int32: ctypes.c_int, np.float32: ctypes.c_float, np.float64: ctypes.c_double}
MAX_THREADS, MAX_BLOCK, MAX_GRID = 1024, (1024, 1024, 64), (2 ** 31 - 1, 65535, 65535)  # every GPU since sm_30


def compiler():
    """The g++ executable, or None where it is missing."""
    return shutil.which(os.environ.get("CXX", "g++"))


class Parameter:
    """One kernel parameter: its name, the NumPy dtype it holds or points to, and whether it is a pointer."""

    def __init__(self, declaration, macros):
        self.declaration = declaration.strip()
        words = declaration.replace("*", " * ").split()
        self.name = words[-1]
        self.pointer = "*" in words
        base = " ".join(w for w in words[:-1] if w not in ("const", "*", "__restrict__"))
        base = macros.get(base, base)
        if base not in SCALARS:
            raise TypeError(f"cuda emulation: parameter '{declaration.strip()}' has a type it does not know "
                            f"(known: {', '.join(SCALARS)})")
        self.dtype = np.dtype(SCALARS[base])


class Kernel:
    """A launchable kernel: checks its arguments against the declared parameters, then runs the launcher."""

    def __init__(self, name, parameters, launcher):
        self.name, self.parameters, self.launcher = name, parameters, launcher

    def __call__(self, grid, block, args):
        if len(args) != len(self.parameters):
            raise TypeError(f"{self.name}: expected {len(self.parameters)} arguments, got {len(args)}")
        grid, block = _dim3(grid), _dim3(block)
        _check_launch(self.name, grid, block)
        values = [ctypes.c_uint(v) for v in grid + block]
        for parameter, arg in zip(self.parameters, args):
            values.append(self._convert(parameter, arg))
        if self.launcher(*values) != 0:
            raise RuntimeError(f"{self.name}: some threads of a block returned while others waited at "
                               "__syncthreads(); on a GPU that is undefined behaviour")

    def _convert(self, parameter, arg):
        described = f"{self.name}: parameter '{parameter.name}'"
        if parameter.pointer:
            if not isinstance(arg, np.ndarray):
                raise TypeError(f"{described} needs an array, got {type(arg).__name__}")
            if arg.dtype != parameter.dtype:
                raise TypeError(f"{described} points to {parameter.dtype}, got an array of {arg.dtype}")
            return ctypes.c_void_p(arg.ctypes.data)
        if not isinstance(arg, np.generic) or arg.dtype != parameter.dtype:
            raise TypeError(f"{described} is {parameter.dtype}; pass a NumPy scalar of that type, got "
                            f"{type(arg).__name__}")
        return CTYPES[parameter.dtype.type](arg)


class EmulatedModule:
    """cupy.RawModule's interface over g++-compiled C++ (the module compiles once per source and options)."""

    def __init__(self, code, options=()):
        macros = dict(_macro(o) for o in options if o.startswith("-D"))
        self.kernels = {name: [Parameter(p, macros) for p in params.split(",") if p.strip()]
                        for name, params in KERNEL.findall(code)}
        # PyDLL keeps the GIL during a launch: the emulated thread indices are globals of the library.
        self.library = ctypes.PyDLL(str(_build(code, options, self.kernels)))

    def get_function(self, name):
        if name not in self.kernels:
            raise AttributeError(f"cuda emulation: no kernel named '{name}' (the source has "
                                 f"{', '.join(self.kernels)})")
        return Kernel(name, self.kernels[name], getattr(self.library, f"emulate_{name}"))


def _dim3(value):
    value = tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),)
    return value + (1,) * (3 - len(value))


def _check_launch(name, grid, block):
    """A launch a GPU would refuse (cudaErrorInvalidConfiguration) is refused here too."""
    threads = block[0] * block[1] * block[2]
    if min(grid + block) < 1 or threads > MAX_THREADS or any(b > m for b, m in zip(block, MAX_BLOCK)) or \
            any(g > m for g, m in zip(grid, MAX_GRID)):
        raise ValueError(f"{name}: grid {grid} x block {block} is not a valid CUDA launch (at most {MAX_THREADS} "
                         f"threads a block, block dimensions up to {MAX_BLOCK}, grid up to {MAX_GRID}, none 0)")


def _macro(option):
    name, _, value = option[2:].partition("=")
    return name, value or "1"


def _bodies(code):
    """{function name: its body}, for every function defined in the source (brace matching)."""
    bodies = {}
    for match in FUNCTION.finditer(code):
        depth, end = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(code[end], 0)
            end += 1
            if depth == 0:
                break
        if match.group(1) not in ("if", "while", "switch"):
            bodies[match.group(1)] = code[match.end():end]
    return bodies


def _with_barriers(code):
    """Names of the functions that reach __syncthreads(), themselves or through the functions they call."""
    bodies = _bodies(code)
    reaching = {name for name, body in bodies.items() if "__syncthreads" in body}
    while True:
        more = {name for name, body in bodies.items() if name not in reaching and
                any(re.search(rf"\b{callee}\s*[(<]", body) for callee in reaching)}
        if not more:
            return reaching
        reaching |= more


def _launchers(code, kernels):
    """C++ that runs each kernel over a grid: extern "C" emulate_<name>(grid, block, parameters...). Kernels
    that reach a barrier run their threads as coroutines; the others one thread after another (faster)."""
    with_barriers = _with_barriers(code)
    parts = [code]
    for name, parameters in kernels.items():
        cooperative = "true" if name in with_barriers else "false"
        signature = ", ".join(p.declaration for p in parameters)
        names = ", ".join(p.name for p in parameters)
        parts.append(f'extern "C" int emulate_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, '
                     f'unsigned by, unsigned bz, {signature}) {{\n'
                     f'    return emulation::launch(dim3{{gx, gy, gz}}, dim3{{bx, by, bz}}, [&] {{ {name}({names}); }}, '
                     f'{cooperative}) ? 0 : 1;\n}}')
    return "\n".join(parts)


def _build(code, options, kernels):
    """Compile (or find, cached by content) the shared library of a kernel source."""
    gxx = compiler()
    if gxx is None:
        raise RuntimeError("cuda emulation needs a C++ compiler: g++ (or $CXX) was not found on PATH")
    source = _launchers(code, kernels)
    # -ffp-contract=off: every operation rounded on its own, as in NumPy (no fused multiply-adds)
    flags = ["-std=c++17", "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-include", str(HEADER)]
    flags += [o for o in options if o.startswith("-D")]
    key = hashlib.sha256("\0".join([source, HEADER.read_text(), *flags]).encode()).hexdigest()[:24]
    folder = Path(os.environ.get("MINIDL_EMULATION_CACHE", Path(tempfile.gettempdir()) / "minidl-emulation"))
    library = folder / f"{key}.so"
    if library.exists():
        return library
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:  # build there, then rename: never a half-written .so
        cpp, built = Path(work) / "kernels.cpp", Path(work) / "kernels.so"
        cpp.write_text(source)
        result = subprocess.run([gxx, *flags, "-o", str(built), str(cpp)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"cuda emulation: g++ failed on the kernel source:\n{result.stderr[-4000:]}")
        os.replace(built, library)
    return library
