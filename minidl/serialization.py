"""`save(obj, path)` / `load(path)`: nested dicts, lists and tuples of arrays, Tensors, numbers, strings and None
in one `.npz` file that is read with allow_pickle=False, so loading a file can never run code.

Layout: every array (a Tensor's data, GPU arrays copied to the CPU) is one entry of the npz, named by
its path in the object ("model/layer1.weight"); the entry "__minidl__" holds, as a JSON string, the
format version and the object's structure, in which numbers, strings, booleans and None are stored
directly and arrays refer to their entry. The file is written under a temporary name in the same
directory and renamed over `path` (atomic on POSIX and Windows), so a crash never leaves half a file.
"""
import json
import os
import zipfile

import numpy as np

from . import backend
from ._atomic import atomic_open
from .autograd.tensor import Tensor

_META = "__minidl__"
_FORMAT = "minidl.save"
_VERSION = 1


def save(obj, path):
    """Write obj to path (exactly that name; no suffix is added), replacing any old file atomically."""
    arrays = {}
    structure = _encode(obj, "", arrays)
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "root": structure})
    with atomic_open(path, "wb") as f:
        _write_npz(f, {_META: np.array(meta), **arrays})


def _write_npz(file, arrays):
    """The layout of np.savez (one NAME.npy member per array in an uncompressed zip), written directly so that
    entry names cannot collide with np.savez's own keyword arguments."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _encode(obj, path, arrays):
    """The JSON-able structure of obj; its arrays go into `arrays` under unique entry names."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        return {"type": "tensor", "requires_grad": bool(obj.requires_grad), **_store(obj.data, path, arrays)}
    if isinstance(obj, np.generic):
        return {"type": "scalar", **_store(np.asarray(obj), path, arrays)}
    if isinstance(obj, np.ndarray) or (backend.cp is not None and isinstance(obj, backend.cp.ndarray)):
        return {"type": "array", **_store(obj, path, arrays)}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"minidl.save: dict keys must be str or int, got {type(key).__name__} key {key!r} "
                                f"at '{path or '/'}'")
            items.append([key, _encode(value, _join(path, key), arrays)])
        return {"type": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {"type": kind, "items": [_encode(v, _join(path, i), arrays) for i, v in enumerate(obj)]}
    raise TypeError(f"minidl.save: cannot save an object of type {type(obj).__name__} at '{path or '/'}'; "
                    "supported: dict, list, tuple, Tensor, NumPy/CuPy array, int, float, bool, str, None "
                    "(save a module's or optimizer's state_dict(), not the object itself)")


def _join(path, key):
    return f"{path}/{key}" if path else str(key)


def _store(array, path, arrays):
    device = backend.device_of(array)
    array = backend.to_device(array, "cpu")
    if array.dtype.hasobject:
        raise TypeError(f"minidl.save: the array at '{path}' has dtype object, which cannot be loaded without "
                        "pickle; convert it to a numeric dtype")
    name, n = path or "array", 1
    while name in arrays or name == _META:  # a dict key containing "/" could repeat another path
        n += 1
        name = f"{path or 'array'}#{n}"
    arrays[name] = array
    return {"entry": name, "device": device}


def load(path, map_location=None):
    """Read a file written by save(). Arrays and Tensors return to the device they were saved from, or to
    map_location ('cpu' or 'cuda') when given."""
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with archive:
            if _META not in archive.files:
                raise ValueError("it has no '__minidl__' entry")
            meta = json.loads(str(archive[_META][()]))
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise ValueError("its '__minidl__' entry is not minidl.save metadata")
            if meta.get("version") != _VERSION:
                raise ValueError(f"it has format version {meta.get('version')}, this minidl reads version {_VERSION}")
            return _decode(meta["root"], archive, map_location)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise ValueError(f"minidl.load: {path} is not a readable minidl.save file ({error})") from None


def _decode(node, archive, map_location):
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "dict":
        return {key: _decode(value, archive, map_location) for key, value in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(value, archive, map_location) for value in node["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind in ("array", "tensor", "scalar"):
        array = archive[node["entry"]]
        if kind == "scalar":
            return array[()]
        device = map_location or node.get("device", "cpu")
        if str(device).startswith("cuda") and not backend.gpu_available():
            raise RuntimeError("minidl.load: the file holds arrays saved on 'cuda' but no GPU is available here; "
                               "pass map_location='cpu'")
        array = backend.to_device(array, device)
        return Tensor(array, requires_grad=node.get("requires_grad", False)) if kind == "tensor" else array
    raise ValueError(f"unknown node type {kind!r} in the structure")
