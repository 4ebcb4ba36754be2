"""Run independent pieces of a conv (chunks of images) on all CPU cores with plain Python threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so two threads working on different
chunks keep two cores busy, also for the copy-heavy parts that the BLAS library runs on one core only.
Each thread gets its own scratch buffers (_conv_scratch is thread-local). MINIDL_NUM_THREADS=1 turns it off.
Inside a data-parallel step (minidl/parallel) every core already runs a replica, so the chunks run in order.
"""
from .._blas import blas_threads
from ..parallel import replicas
from ..parallel.threads import pool, thread_count


def run_parallel(work, pieces):
    """[work(piece) for piece in pieces], spread over the cores (in order; the first error is raised)."""
    pieces = list(pieces)
    threads = 1 if replicas.current() is not None else min(thread_count(), len(pieces))
    if threads <= 1:
        return [work(piece) for piece in pieces]
    with blas_threads(1):  # our threads already fill the cores (see minidl/_blas.py)
        return list(pool("conv", threads).map(work, pieces))
