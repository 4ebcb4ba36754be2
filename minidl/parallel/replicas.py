"""Replicas: threads that each run the same model on one chunk of a batch, and the few points where they meet.

Data parallelism on one machine: every thread runs a whole forward and backward pass over its own chunk of
the batch, with the *same* parameters, so each thread owns whole ops and NumPy runs them without the GIL.
The threads must agree in three places only:

- batch norm sees the statistics of the whole batch, not of its chunk: `all_sum` adds per-replica partial
  sums (the sums of x, of (x - mean)^2, and in backward of g and g * (x - mean)) across the replicas;
- state that the batch updates once (BN's running averages, a layer's step counter) is updated by one
  replica only, with the whole batch's values: `is_leader()`;
- random draws (dropout masks) happen in replica order, so that the masks equal one draw for the whole batch:
  `in_order(draw)`.

The ops ask through minidl/split_batch.py, which imports nothing of this folder; outside a replica (the usual
single-threaded case) all three are no-ops, and every op behaves as before.
There may be more replicas than cores: then at most `cores` of them run at once, and a replica gives its core
to another while it waits at a meeting point (`ReplicaGroup.core`).
Replicas run the same model, so they reach each meeting point in the same order; a replica that fails
breaks the barrier, and the others stop with it instead of waiting forever.
"""
import contextlib
import threading

from ..split_batch import all_sum, current, enter, in_order, is_leader, leave  # noqa: F401


class ReplicaGroup:
    """The meeting point of `size` replica threads (one group per data-parallel step)."""

    def __init__(self, size, cores=None):
        self.size = size
        self.cores = cores or size
        self._running = threading.Semaphore(self.cores)  # a token per core: who may compute now
        self._barrier = threading.Barrier(size)
        # Two sets of slots, used in turn: a replica writing the slots of call k + 1 cannot overwrite those of
        # call k before everyone has read them, because everyone must first reach the barrier of call k + 1.
        self._slots = [[None] * size, [None] * size]
        self._turn = threading.Condition()
        self._next_in_order = 0

    def all_sum(self, index, calls, values):
        """The sums over replicas 0, 1, ... (in that order, so every replica gets the same result) of each of
        `values` (a tuple: several sums cost one meeting)."""
        slots = self._slots[calls % 2]
        slots[index] = values
        with self.waiting():
            self._barrier.wait()
        totals = list(slots[0])
        for other in slots[1:]:
            totals = [total + value for total, value in zip(totals, other)]
        return tuple(totals)

    def in_order(self, index, work):
        """Run work() in replica 0, then 1, ...; each replica waits for its turn (once per call site)."""
        with self.waiting(), self._turn:
            self._turn.wait_for(lambda: self._next_in_order % self.size == index or self._barrier.broken)
            if self._barrier.broken:
                raise threading.BrokenBarrierError
            try:
                return work()
            finally:
                self._next_in_order += 1
                self._turn.notify_all()

    @contextlib.contextmanager
    def core(self):
        """Hold one of the group's cores for the block (a replica holds one while it computes)."""
        self._running.acquire()
        try:
            yield
        finally:
            self._running.release()

    @contextlib.contextmanager
    def waiting(self):
        """Give the core back while blocked at a meeting point, so that a replica still on its way can reach it."""
        self._running.release()
        try:
            yield
        finally:
            self._running.acquire()

    def cores_per_replica(self):
        """Cores a replica's own ops may spread over (a conv's chunks) when there are more cores than replicas."""
        return max(1, self.cores // self.size)

    def abort(self):
        """Release every waiting replica with BrokenBarrierError (called when one replica fails)."""
        self._barrier.abort()
        with self._turn:
            self._turn.notify_all()


class Replica:
    """What one thread knows about itself: its group, its index and the leaf gradients it has computed."""

    def __init__(self, group, index):
        self.group, self.index = group, index
        self.calls = 0            # all_sum calls so far (selects the slot set)
        self.leaf_grads = {}      # id(leaf) -> (leaf, gradient of this replica's chunk)

    def add_leaf_grad(self, leaf, grad):
        known = self.leaf_grads.get(id(leaf))
        self.leaf_grads[id(leaf)] = (leaf, grad if known is None else known[1] + grad)

    def all_sum(self, *values):
        self.calls += 1
        return self.group.all_sum(self.index, self.calls, values)
