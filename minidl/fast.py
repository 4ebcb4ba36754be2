"""The speed corner's one switchboard: which fast variant plugs into each seam of the textbook path (seams.py).

Imported once by `import minidl`. Each variant says what it buys, measured, in its own file (docs/reading.md
lists them). `minidl.textbook_ops()` unplugs them all for the duration of a block.
"""
from . import seams
from ._allocator import keep_freed_memory
from .data import gpu_copy
from .functional import _channels, _conv_fast, _norm_fast, _pool_fast
from .optim import _sgd_fast
from .parallel import step as _parallel


def _before_training():
    _parallel.thread_count()  # a bad MINIDL_NUM_THREADS fails here, not in the first step
    keep_freed_memory()       # fewer page faults for the rest of the process (minidl/_allocator.py)


seams.fast.update({
    "train_step": _parallel.train_step,   # chunks of 64 images, one per core at a time (minidl/parallel)
    "forward": _parallel.forward,
    "before_training": _before_training,
    "conv2d": _conv_fast.choose,  # Winograd for 3x3 stride 1, else im2col; the GPU's kernels + cuBLAS
    "max_pool2d": _pool_fast.FastMaxPool2d.apply,  # whole-array ops over the kernel offsets
    "avg_pool2d": _pool_fast.FastAvgPool2d.apply,
    "adaptive_avg_pool2d": _pool_fast.adaptive_avg_pool2d,
    "sgd_update": _sgd_fast.fused_update,  # one GPU kernel per parameter
    "batch_to_gpu": gpu_copy.to_gpu,  # pinned memory, a copy stream per loader thread
    "elementwise": _channels.binary_in_layout,  # + - * keep conv2d's channels-last layout
    "batch_norm": (_norm_fast.FastBatchNorm, _norm_fast.FastBatchNormEval),  # two passes on rows; GPU kernels
    "batch_norm_running_stats": _norm_fast.update_running_stats_gpu,  # one GPU kernel
})
