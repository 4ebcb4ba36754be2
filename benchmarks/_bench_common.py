"""What the step, memory and loader benchmarks share: thread settings, a description of the machine, and
appending a dated section to RESULTS.md.

`set_threads(n)` must run before NumPy is imported: OpenBLAS reads OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
only when it loads.
"""
import datetime
import os
import platform
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
# OPENBLAS_NUM_THREADS is left alone: minidl runs NumPy's OpenBLAS on one thread unless it is set (minidl/_blas.py)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MINIDL_NUM_THREADS")


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_threads(threads):
    """Use `threads` cores: minidl's conv threads and PyTorch's OpenMP (None: OMP_NUM_THREADS, else
    OPENBLAS_NUM_THREADS, else every core). Returns the count."""
    if threads is None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
                threads = int(os.environ[var])
                break
        else:
            threads = cores()
    if "numpy" in sys.modules:
        raise RuntimeError("set_threads must run before NumPy is imported")
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    return threads


def thread_note(threads):
    """Which thread counts the run used, for the results' header."""
    blas = os.environ.get("OPENBLAS_NUM_THREADS") or "1 (minidl's default)"
    return f"{threads} core(s): minidl conv threads {os.environ.get('MINIDL_NUM_THREADS')}, OpenBLAS threads {blas}"


def import_minidl():
    """minidl from this checkout, or from the folder named by BENCH_MINIDL_ROOT (to time another version)."""
    sys.path.insert(0, os.environ.get("BENCH_MINIDL_ROOT", ROOT))
    import minidl
    return minidl


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def machine():
    """'CPU model, N cores, date'."""
    return f"{cpu_model()}, {cores()} cores, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}"


def load_average():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def versions(torch=None, tried_torch=False):
    import numpy as np
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        blas = "unknown BLAS"
    text = f"Python {platform.python_version()}, numpy {np.__version__} ({blas})"
    if torch is not None:
        return f"{text}, torch {torch.__version__}"
    return text + (", PyTorch not importable" if tried_torch else "")


def append_section(section, text):
    """Append `text` at the end of `section` ('## ...') of RESULTS.md, creating either if missing; written to a
    temporary file and renamed, so a reader never sees half a file. Other sections are left as they are."""
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    if section not in old.split("\n"):
        new = old.rstrip("\n") + f"\n\n{section}\n\n{text.strip()}\n"
    else:
        start = old.index("\n" + section + "\n") + len(section) + 2
        following = old.find("\n## ", start)
        end = len(old) if following < 0 else following
        new = old[:end].rstrip("\n") + f"\n\n{text.strip()}\n" + old[end:]
    import_minidl()
    from minidl._atomic import atomic_open  # the one atomic writer
    with atomic_open(RESULTS, "w") as f:
        f.write(new)
