"""The textbook version of every core op, and the switch that makes every model use them.

One file per op (conv, batch norm, pooling, concatenation), each a Function with its own backward, in
plain NCHW with the formula in its docstring: no threads, scratch buffers or layout tricks. The fast
ops in minidl/functional are tested against these (tests/functional/test_textbook_ops.py).

    with minidl.textbook_ops():
        loss = F.cross_entropy(model(x), y)   # every conv, batch norm, pool and cat runs here
        loss.backward()

The public entry points (F.conv2d, F.batch_norm, F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d,
F.cat) check their arguments as always, then ask `active()` which Function to run.
"""
import contextlib
import threading

from ...autograd.function import Function

# How many `textbook_ops()` blocks are open, in any thread. The switch is process-wide: while one
# block is open, every thread's ops take the textbook path (so do not train on the fast path in one
# thread while another thread holds the switch). The lock only keeps the count exact.
_open_blocks = 0
_lock = threading.Lock()


def active():
    """True while a `textbook_ops()` block is open."""
    return _open_blocks > 0


@contextlib.contextmanager
def textbook_ops():
    """Run conv2d, batch norm, pooling and cat on their textbook versions inside the block (nests)."""
    global _open_blocks
    with _lock:
        _open_blocks += 1
    try:
        yield
    finally:
        with _lock:
            _open_blocks -= 1


class TextbookFunction(Function):
    """A textbook op: the profiler lists it as `op[textbook]` (e.g. conv2d[textbook])."""
    op = "?"

    @property
    def name(self):
        return f"{self.op}[textbook]"
