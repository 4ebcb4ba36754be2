"""The stand-in's `cupy.lib` (stride_tricks only)."""
from . import stride_tricks  # noqa: F401
