"""The seam between ops that see a whole batch and a data-parallel step that cuts the batch into chunks.

Outside such a step (the plain, single-threaded case) every function here is a no-op: `all_sum` returns its
values, `is_leader` is True, `in_order` just calls, and the autograd engine writes leaf gradients to `.grad`.
minidl/parallel plugs in by `enter`ing a replica in each of its threads: batch norm then sums over the whole
batch, shared state is updated once, dropout draws in order, and the engine hands leaf gradients to the replica.
This file imports nothing, so the textbook path can ask these questions without importing the speed corner.
"""
import threading

_local = threading.local()


def current():
    """The replica running in this thread (see minidl/parallel/replicas.py), or None outside a data-parallel step."""
    return getattr(_local, "replica", None)


def enter(replica):
    _local.replica = replica


def leave():
    _local.replica = None


def all_sum(*values):
    """Each of `values` summed over the replicas of the running step (the values themselves outside one);
    one value gives one sum, several give a tuple."""
    replica = current()
    totals = values if replica is None else replica.all_sum(*values)
    return totals[0] if len(values) == 1 else totals


def is_leader():
    """True outside a data-parallel step, and in its first replica: the one that updates shared state."""
    replica = current()
    return replica is None or replica.index == 0


def in_order(work):
    """work(), run by the replicas one after another in index order (directly outside a step)."""
    replica = current()
    return work() if replica is None else replica.group.in_order(replica.index, work)


def leaf_grad_sink():
    """The engine's hook for leaf gradients: where this thread's backward must send them instead of `.grad`
    (a replica's `add_leaf_grad`, summed once every replica has finished), or None to write `.grad` as usual."""
    replica = current()
    return None if replica is None else replica.add_leaf_grad
