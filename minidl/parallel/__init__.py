"""Data parallelism over the CPU's cores: `train_step` and `forward` cut the batch into chunks of about 64 images
and run one chunk per thread at a time.

The ops and the autograd engine never import this folder: they meet its threads through minidl/split_batch.py.
"""
from ..threads import thread_count
from . import replicas, step
from .step import CHUNK_SIZE, chunk_bounds, forward, train_step

__all__ = ["train_step", "forward", "chunk_bounds", "CHUNK_SIZE", "thread_count", "replicas", "step"]
