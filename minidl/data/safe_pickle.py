"""Read a pickle that may only hold plain values and NumPy arrays, so opening a data file never runs code.

`pickle.load` calls whatever importable callable a file names, which makes a downloaded pickle as dangerous
as a downloaded script. This reader allows exactly the globals CIFAR-10's files use (checked with
`pickletools.genops` on the official files and on the shared subset) and refuses every other one.
"""
import codecs
import pickle

import numpy as np

# numpy pickles an array as `_reconstruct(ndarray, shape, dtype-code)` plus a state tuple. NumPy 1.x names
# the function `numpy.core.multiarray._reconstruct`, NumPy 2.x `numpy._core.multiarray._reconstruct`; ask
# the installed NumPy for its own so both spellings resolve without importing the deprecated `numpy.core`.
_reconstruct = np.zeros(0).__reduce__()[0]


def _dtype(*args):
    """numpy.dtype, minus object dtypes (an object array could carry arbitrary pickled objects)."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError(f"refusing an object dtype ({dtype}) in a data file")
    return dtype


def _latin1_bytes(text, encoding):
    """Python 3 writes bytes into protocol-2 pickles as `_codecs.encode(text, 'latin1')`; allow only that."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r} (only latin1 is used)")
    return codecs.encode(text, "latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler whose only importable names are those in `_ALLOWED`."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}': data files may only "
                                         "hold dicts, lists, strings, numbers and NumPy arrays") from None


def load(path):
    """Unpickle one file with byte-string keys (`encoding='bytes'`, as CIFAR-10's Python 2 files need)."""
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, encoding="bytes").load()
