"""minidl._blas: NumPy's bundled OpenBLAS is set to one thread, unless OPENBLAS_NUM_THREADS is set."""
import ctypes

from minidl import _blas


def _threads():
    for path in _blas._bundled_openblas():
        library = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
            getter = getattr(library, name, None)
            if getter is not None:
                return getter()
    return None


def test_one_thread_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    applied = _blas.use_one_blas_thread()
    assert applied is (_threads() is not None)  # applied wherever a bundled OpenBLAS could be found
    if applied:
        assert _threads() == 1


def test_openblas_num_threads_is_honoured(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert _blas.use_one_blas_thread() is False
