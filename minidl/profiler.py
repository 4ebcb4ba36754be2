"""`minidl.profile()`: where the time of a training step goes, per op type, forward and backward.

    with minidl.profile() as prof:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    print(prof.table())

While the context is open, `Function.apply` times every op's `forward` and the engine times every
`backward` (and the summing of gradients that reach one tensor from several ops). Times are *self*
times: an op that runs another op inside it is charged only for its own part. Whatever the ops do not
account for (Python in modules and in the engine, the optimizer step, the loss of `.item()`...) is the
row "(outside ops)". Outside a profile the engine pays one `is None` test per op.

The clock is wall time (time.perf_counter) unless `clock=` names another: on a machine shared with other
busy processes, `time.process_time` (CPU time of all this process's threads) is steadier, though it also
counts BLAS threads that spin while they wait for work. A data-parallel step (minidl/parallel) runs ops in
several threads at once; each thread's ops are timed on their own, and the rows add up the threads. Time
such a step with `clock=time.thread_time` (each thread's own CPU time) and `block_clock=time.process_time`
(the CPU time of all threads): the table then shares out the CPU time the step cost. On a GPU each timed op
waits for the GPU before and after it runs, so the times are the ops' own (and the profiled step runs slower).
"""
import threading
import time

from . import backend
from .autograd import function as _function
from .autograd.engine import ACCUMULATE

OUTSIDE = "(outside ops)"
__all__ = ["profile", "Profile", "OUTSIDE", "ACCUMULATE"]


class Profile:
    """Per-op totals of one `profile()` block: `rows()` as dicts, `table()` as text, `total` seconds."""

    def __init__(self, steps=1, clock=time.perf_counter, block_clock=None):
        self.steps, self.clock, self.block_clock = steps, clock, block_clock or clock
        self.total = 0.0
        self._stats = {}    # op name -> [forward calls, forward s, backward calls, backward s]
        self._lock = threading.Lock()
        self._local = threading.local()  # .stack: [start, time spent in nested ops] per op being timed

    @property
    def _stack(self):
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    # ----- recording (called by Function.apply and the engine) -----
    def call(self, name, phase, fn, /, *args, **kwargs):
        """Run fn(*args, **kwargs), charging its self time to `name` in `phase` ('forward' or 'backward')."""
        gpu = _wait_for_gpu(args)
        frame = [self.clock(), 0.0]
        self._stack.append(frame)
        try:
            return fn(*args, **kwargs)
        finally:
            if gpu:
                _wait_for_gpu(args)
            elapsed = self.clock() - frame[0]
            self._stack.pop()
            if self._stack:
                self._stack[-1][1] += elapsed
            column = 0 if phase == "forward" else 2
            with self._lock:
                entry = self._stats.setdefault(name, [0, 0.0, 0, 0.0])
                entry[column] += 1
                entry[column + 1] += elapsed - frame[1]

    # ----- reporting -----
    def rows(self):
        """One dict per op type (name, forward/backward calls and seconds, total, share of the block), largest
        first, then the time outside ops. Seconds are per step when `steps` was given."""
        per = max(self.steps, 1)
        rows = []
        for name, (fc, fs, bc, bs) in self._stats.items():
            rows.append(dict(name=name, forward_calls=fc // per, forward_s=fs / per, backward_calls=bc // per,
                             backward_s=bs / per, total_s=(fs + bs) / per))
        rows.sort(key=lambda r: -r["total_s"])
        inside = sum(r["total_s"] for r in rows)
        rows.append(dict(name=OUTSIDE, forward_calls=0, forward_s=0.0, backward_calls=0, backward_s=0.0,
                         total_s=max(self.total / per - inside, 0.0)))
        for r in rows:
            r["share"] = r["total_s"] / (self.total / per) if self.total > 0 else 0.0
        return rows

    def op_calls(self):
        """Ops run per step, forward and backward together (the Python overhead scales with this)."""
        return sum(r["forward_calls"] + r["backward_calls"] for r in self.rows())

    def table(self):
        """The rows as a Markdown table, milliseconds per step."""
        lines = ["| op | fwd calls | fwd ms | bwd calls | bwd ms | total ms | share |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows():
            lines.append(f"| {r['name']} | {r['forward_calls']} | {1e3 * r['forward_s']:.1f} | {r['backward_calls']} | "
                         f"{1e3 * r['backward_s']:.1f} | {1e3 * r['total_s']:.1f} | {100 * r['share']:.1f}% |")
        lines.append(f"| **step** | | | | | {1e3 * self.total / max(self.steps, 1):.1f} | 100% |")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _wait_for_gpu(arrays):
    """If any argument is a GPU array, wait until the GPU has finished its queued work; True if so.

    GPU ops only queue work and return at once: without this the time of an op would be charged to
    whichever later op happens to wait for the GPU.
    """
    if backend.cp is None or not any(isinstance(a, backend.cp.ndarray) for a in arrays):
        return False
    backend.cp.cuda.get_current_stream().synchronize()
    return True


class profile:
    """Context manager that records a Profile of the ops run inside it (see the module docstring).

    `steps`: how many training steps the block runs, so that the table shows per-step figures.
    `clock`: a function returning seconds (time.perf_counter, the default, or time.process_time) that times
    each op; `block_clock` times the whole block (default: `clock`).
    Profiles do not nest: opening one inside another is an error.
    """

    def __init__(self, steps=1, clock=time.perf_counter, block_clock=None):
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"profile: steps must be a positive int, got {steps!r}")
        if not callable(clock):
            raise TypeError(f"profile: clock must be a function returning seconds, got {clock!r}")
        if block_clock is not None and not callable(block_clock):
            raise TypeError(f"profile: block_clock must be a function returning seconds, got {block_clock!r}")
        self.result = Profile(steps, clock, block_clock)

    def __enter__(self):
        if _function.profiler is not None:
            raise RuntimeError("profile: another minidl.profile() is already recording; profiles do not nest")
        _function.profiler = self.result
        self._start = self.result.block_clock()
        return self.result

    def __exit__(self, *exc):
        self.result.total = self.result.block_clock() - self._start
        _function.profiler = None
        return False
