"""Data parallelism over the CPU's cores: `train_step` and `forward` cut the batch into chunks of about 64 images
and run one chunk per thread at a time.

`replicas` (the meeting points the engine and batch norm use) imports nothing of minidl, so the engine can
import it while the package is still loading; `step` needs the engine and is imported on first use.
"""
import importlib

from . import replicas
from .threads import thread_count

__all__ = ["train_step", "forward", "chunk_bounds", "thread_count", "replicas"]


def __getattr__(name):
    if name in ("train_step", "forward", "chunk_bounds", "step"):
        step = importlib.import_module(f"{__name__}.step")
        return step if name == "step" else getattr(step, name)
    raise AttributeError(f"module 'minidl.parallel' has no attribute {name!r}")
