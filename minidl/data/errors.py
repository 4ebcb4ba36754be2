"""The one error type of `minidl.data`: a data file that exists but cannot be trusted (corrupt, unsafe, wrong md5)."""


class DataError(ValueError):
    """A dataset file or archive is truncated, malformed, unsafe or fails its checksum; the message names it."""
