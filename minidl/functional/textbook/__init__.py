"""The textbook version of every core op, and the switch that makes every model use them.

One file per op (conv, batch norm, pooling), each a Function with its own backward, in
plain NCHW with the formula in its docstring: no threads, scratch buffers or layout tricks. The fast
ops in minidl/functional are tested against these (tests/functional/test_textbook_ops.py).

    with minidl.textbook_ops():
        loss = F.cross_entropy(model(x), y)   # every conv, batch norm and pool runs here
        loss.backward()

The public entry points (F.conv2d, F.batch_norm, F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d) check
their arguments as always, then ask the seams (minidl/seams.py) which Function to run; inside the block that is
the one here. (F.cat needs no second version: its one Function, in functional/shape.py, is already plain.)
"""
from ...autograd.function import Function
from ...seams import textbook_active as active, textbook_ops  # noqa: F401 (the switch lives in seams.py)


class TextbookFunction(Function):
    """A textbook op: the profiler lists it as `op[textbook]` (e.g. conv2d[textbook])."""
    op = "?"

    @property
    def name(self):
        return f"{self.op}[textbook]"
