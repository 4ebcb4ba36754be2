"""The stand-in's `cupyx.scipy` (special only)."""
from . import special  # noqa: F401
