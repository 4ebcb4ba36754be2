"""The named seams where minidl's speed corner plugs into the textbook path, and the switch that unplugs it.

The textbook files hold the plain code and ask this table for a variant only at these points:

- "train_step", "forward": how `train()` and `evaluate()` run one batch (plain: training/step.py; fast: the
  data-parallel step of minidl/parallel);
- "before_training": what `train()` sets up first (fast: the allocator tuning of minidl/_allocator.py);
- "elementwise": the memory layout of + - * (fast: kept channels-last, functional/_channels.py);
- "batch_norm", "batch_norm_running_stats": the Functions of batch norm (plain: functional/textbook/norm.py;
  fast: functional/_norm_fast.py) and the running-buffer update (fast: one GPU kernel);
- "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d": the pools (plain: functional/textbook/pool.py; fast:
  functional/_pool_fast.py);
- "sgd_update": SGD's momentum update (fast: one GPU kernel, optim/_sgd_fast.py);
- "batch_to_gpu": how the loader copies a batch to the GPU (plain: `backend.to_gpu`; fast: pinned memory on
  a stream of its own, data/gpu_copy.py);
- "conv2d": which Function runs a convolution (plain: functional/textbook/conv.py; fast: Winograd, im2col or
  the GPU's, functional/_conv_fast.py).

minidl/fast.py fills the table, once, when minidl is imported. Inside `textbook_ops()` every seam gives the
plain version. This file imports nothing.
"""
import contextlib
import threading

fast = {}  # seam name -> the fast variant (set by minidl/fast.py)

# How many `textbook_ops()` blocks are open, in any thread. The switch is process-wide: while one block is open,
# every thread takes the textbook path (so do not train on the fast path in one thread while another thread
# holds the switch). The lock only keeps the count exact.
_open_blocks = 0
_lock = threading.Lock()


def textbook_active():
    """True while a `textbook_ops()` block is open."""
    return _open_blocks > 0


@contextlib.contextmanager
def textbook_ops():
    """Run every model on the textbook ops and the plain training step inside the block (nests)."""
    global _open_blocks
    with _lock:
        _open_blocks += 1
    try:
        yield
    finally:
        with _lock:
            _open_blocks -= 1


def choose(name, plain):
    """The variant of seam `name` to run now: the fast one if minidl/fast.py installed it, else `plain`."""
    return plain if _open_blocks or name not in fast else fast[name]
