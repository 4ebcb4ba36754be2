"""Run independent pieces of a conv (chunks of images) on all CPU cores with plain Python threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so two threads working on different
chunks keep two cores busy, also for the copy-heavy parts that the BLAS library runs on one core only.
Each thread gets its own scratch buffers (_conv_scratch is thread-local). MINIDL_NUM_THREADS=1 turns it off.
Inside a data-parallel step (minidl/parallel) the replicas already share the cores: a conv's chunks use only the
cores left over (one each when there are as many replicas as cores, the usual case). The chunks are cut by size,
not by thread count, and their results are combined in order, so the thread count never changes a result.
"""
from .._blas import blas_threads
from .. import split_batch
from ..threads import pool, thread_count


def run_parallel(work, pieces):
    """[work(piece) for piece in pieces], spread over the cores (in order; the first error is raised)."""
    pieces = list(pieces)
    replica = split_batch.current()
    threads = min(replica.group.cores_per_replica() if replica is not None else thread_count(), len(pieces))
    if threads <= 1:
        return [work(piece) for piece in pieces]
    with blas_threads(1):  # our threads already fill the cores (see minidl/_blas.py)
        return list(pool("conv", threads).map(work, pieces))
