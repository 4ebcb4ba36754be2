"""minidl._blas: OpenBLAS on one thread inside minidl's threads, restored afterwards; import changes nothing."""
import subprocess
import sys
import textwrap

from minidl import _blas


def test_one_thread_inside_and_restored_after(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = _blas.get_blas_threads()
    if before is None:  # no bundled OpenBLAS (another BLAS): nothing to set, and nothing breaks
        with _blas.blas_threads(1):
            pass
        return
    with _blas.blas_threads(1):
        assert _blas.get_blas_threads() == 1
    assert _blas.get_blas_threads() == before


def test_restored_after_an_error(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = _blas.get_blas_threads()
    try:
        with _blas.blas_threads(1):
            raise KeyError("inside")
    except KeyError:
        pass
    assert _blas.get_blas_threads() == before


def test_openblas_num_threads_is_obeyed(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    before = _blas.get_blas_threads()
    with _blas.blas_threads(1):
        assert _blas.get_blas_threads() == before


IMPORT_CHECK = textwrap.dedent("""
    import ctypes, ctypes.util, glob, os, numpy as np
    def blas_threads():                # NumPy's OpenBLAS thread count, read without importing minidl
        for path in glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*")):
            library = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
                if hasattr(library, name):
                    return getattr(library, name)()
    class Info(ctypes.Structure):      # glibc's struct mallinfo2; hblks counts blocks served by mmap
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = Info
    threads_before = blas_threads()
    import minidl
    CHANGE
    blocks = libc.mallinfo2().hblks
    big = np.ones(20 * 2 ** 20 // 8)  # 20 MiB: above glibc's mmap threshold unless minidl raised it to 32 MiB
    print(blas_threads() == threads_before, libc.mallinfo2().hblks == blocks + 1)
""")


def test_importing_minidl_leaves_blas_threads_and_malloc_alone():
    if not sys.platform.startswith("linux"):
        return
    import platform
    if platform.libc_ver()[0] != "glibc":
        return
    run = subprocess.run([sys.executable, "-c", IMPORT_CHECK.replace("CHANGE", "")], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "MINIDL_MALLOC": ""})
    assert run.stdout.split() == ["True", "True"], run.stdout + run.stderr


def test_the_import_check_sees_a_change():
    """The check above is not vacuous: the documented allocator call and the BLAS setter do show up in it."""
    if not sys.platform.startswith("linux") or __import__("platform").libc_ver()[0] != "glibc":
        return
    change = "minidl.keep_freed_memory(); minidl._blas._thread_functions() and minidl._blas._thread_functions()[1](1)"
    run = subprocess.run([sys.executable, "-c", IMPORT_CHECK.replace("CHANGE", change)], capture_output=True,
                         text=True, check=True, env={"PATH": "/usr/bin:/bin", "MINIDL_MALLOC": ""})
    assert run.stdout.split()[1] == "False", run.stdout + run.stderr
