"""A training step and an inference pass on every core: the batch is cut into chunks, one thread per chunk.

    loss, logits = parallel.train_step(model, x, y, F.cross_entropy)   # gradients now in p.grad
    opt.step()

Each thread (a replica, see replicas.py) runs the whole model forward and backward on its chunk. NumPy
releases the GIL inside its array work, so the replicas keep every core busy; what stays serial is the
Python that dispatches the ops, which is why whole passes per thread scale better than splitting each op
(the measurements are in benchmarks/RESULTS.md). The result is the same as one pass over the whole batch,
up to the order of floating-point sums: batch norm uses the whole batch's statistics, the loss and the
gradients are those of the batch mean, and BN's running averages are updated once.

The batch is cut by its size alone (chunks of about CHUNK_SIZE images), never by the number of threads: the
threads only decide how many chunks run at once. So the sums, and a whole training run, come out bit for bit
the same on 1, 2 or 16 threads, and a lesson's verdict cannot flip with the machine's core count.
"""
import threading

from .. import backend
from .._blas import blas_threads
from ..autograd import grad_mode
from ..autograd.tensor import Tensor
from .. import seams
from . import replicas
from ..threads import pool, thread_count, using

# Images per replica. 64 keeps a 128-image batch in two chunks, one per core of a 2-core machine, as before the
# chunking stopped following the thread count; smaller chunks cost more Python dispatch per image.
CHUNK_SIZE = 64


def chunk_bounds(n, chunk_size=CHUNK_SIZE, device="cpu"):
    """[(start, stop), ...]: n samples cut into n // chunk_size near-equal chunks (at least one).

    On a GPU the whole batch is one chunk: the device already runs each op on all its cores. So it is under
    `minidl.textbook_ops()`: the textbook ops know nothing of replicas (their batch norm would see one chunk).
    """
    count = 1 if device != "cpu" or seams.textbook_active() else max(1, n // chunk_size)
    edges = [n * i // count for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def train_step(model, x, y, loss_fn, threads=None, chunk_size=CHUNK_SIZE):
    """Forward and backward of loss_fn(model(x), y) over the whole batch, in chunks of about `chunk_size` images
    that run `threads` at a time (default: all cores).

    loss_fn must return the *mean* loss of the samples it is given (as F.cross_entropy does). Parameter
    gradients are added to `.grad` as one backward of the batch mean would (a hook on a parameter sees each
    thread's share). Returns (loss, logits) as raw arrays: the batch's mean loss (0-d) and the model's outputs
    for the whole batch.
    """
    x, y = _raw(x), _raw(y)
    bounds = chunk_bounds(len(x), chunk_size, backend.device_of(x))
    n = len(x)

    def work(start, stop):
        logits = model(Tensor._wrap(x[start:stop]))
        loss = loss_fn(logits, Tensor._wrap(y[start:stop]))
        weight = (stop - start) / n  # the chunk's share of the batch mean
        loss.backward(backend.get_array_module(loss.data).asarray(weight, dtype=loss.dtype))
        return loss.data * loss.dtype.type(weight), logits.data

    with blas_threads(1), using(threads):
        results, leaf_grads = _run_replicas(work, bounds, threads or thread_count())
    for grads in leaf_grads:  # each replica's share of every parameter's gradient, added in replica order
        for leaf, grad in grads.values():
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad
    losses, outputs = zip(*results)
    return sum(losses[1:], losses[0]), _concatenate(outputs)


def forward(model, x, threads=None, chunk_size=CHUNK_SIZE):
    """model(x) without a graph, in chunks of about `chunk_size` images run `threads` at a time; returns the raw
    output array."""
    x = _raw(x)

    def work(start, stop):
        with grad_mode.no_grad():
            return model(Tensor._wrap(x[start:stop])).data

    with blas_threads(1), using(threads):
        outputs, _ = _run_replicas(work, chunk_bounds(len(x), chunk_size, backend.device_of(x)),
                                   threads or thread_count())
    return _concatenate(outputs)


def _run_replicas(work, bounds, cores):
    """([work(start, stop) per chunk], [leaf gradients per replica]), with at most `cores` replicas running at
    once; the first chunk runs in the calling thread."""
    if len(bounds) == 1:  # one chunk: no replicas, but a conv may still split its work over `threads`
        return [work(*bounds[0])], []
    group = replicas.ReplicaGroup(len(bounds), cores)
    members = [replicas.Replica(group, index) for index in range(len(bounds))]
    enabled = grad_mode.is_grad_enabled()

    def run(index):
        replicas.enter(members[index])
        grad_mode.set_grad_enabled(enabled)
        try:
            with group.core():
                return work(*bounds[index])
        except BaseException:
            group.abort()  # the others would wait for this replica at their next meeting point
            raise
        finally:
            replicas.leave()

    futures = [pool("replica", len(bounds) - 1).submit(run, index) for index in range(1, len(bounds))]
    results, errors = [], []
    for attempt in [lambda: run(0)] + [future.result for future in futures]:
        try:
            results.append(attempt())
        except BaseException as error:  # noqa: B036 - re-raised below, after every replica has stopped
            errors.append(error)
    if errors:  # the replica that failed first explains it; the others only saw the broken barrier
        raise next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
    return results, [member.leaf_grads for member in members]


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _concatenate(arrays):
    return arrays[0] if len(arrays) == 1 else backend.get_array_module(arrays[0]).concatenate(arrays)
