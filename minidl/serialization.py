"""`save(obj, path)` / `load(path)`: nested dicts, lists and tuples of arrays, Tensors, numbers, strings and None
in one `.npz` file that is read with allow_pickle=False, so loading a file can never run code.

Layout: every array (a Tensor's data, GPU arrays copied to the CPU) is one entry of the npz, named by
its path in the object ("model/layer1.weight"); the entry "__minidl__" holds, as a JSON string, the
format version and the object's structure, in which numbers, strings, booleans and None are stored
directly and arrays refer to their entry. The file is written under a temporary name in the same
directory and renamed over `path` (atomic on POSIX and Windows), so a crash never leaves half a file.
"""
import json
import math
import os
import re
import zipfile

import numpy as np

from . import backend
from ._atomic import atomic_open
from .autograd.tensor import Tensor

_META = "__minidl__"
_FORMAT = "minidl.save"
_VERSION = 1
_MAX_DEPTH = 100  # nesting levels of the structure's JSON; a training checkpoint uses about a dozen
_OPENING, _CLOSING = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


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
    map_location ('cpu' or 'cuda') when given.

    Nothing is allocated on a file's word: each array's header must match the bytes its entry holds, and the
    structure may nest at most _MAX_DEPTH levels, so a crafted file is refused rather than exhausting memory
    or the stack."""
    path = os.fspath(path)
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                raise ValueError(_what_it_is(f.read(16)))
        with zipfile.ZipFile(path) as archive:
            text = str(_read_entry(archive, _META, os.path.getsize(path))[()])
            depth = _nesting_depth(text)
            if depth > _MAX_DEPTH:
                raise ValueError(f"its structure nests {depth} levels deep, more than the {_MAX_DEPTH} allowed")
            meta = json.loads(text)
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise ValueError("its '__minidl__' entry is not minidl.save metadata")
            if meta.get("version") != _VERSION:
                raise ValueError(f"it has format version {meta.get('version')}, this minidl reads version {_VERSION}")
            return _decode(meta["root"], lambda name: _read_entry(archive, name, os.path.getsize(path)), map_location)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise ValueError(f"minidl.load: {path} is not a readable minidl.save file ({error})") from None


def _what_it_is(head):
    """Why a file that is not a zip archive is not an .npz, from its first bytes."""
    if not head:
        return "it is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it holds a single .npy array, not an .npz archive"
    if head[:1] == b"\x80":
        return "it is a pickle, which minidl never loads: loading one can run code"
    if head.lstrip()[:1] in (b"{", b"["):
        return "it is a JSON text file, such as a history, not an .npz archive"
    return "it is not an .npz (zip) archive"


def _nesting_depth(text):
    """The deepest nesting of [ and { in a JSON text, ignoring brackets inside strings."""
    codes = np.frombuffer(re.sub(r'"(?:[^"\\]|\\.)*"', '""', text).encode(), np.uint8)
    steps = np.isin(codes, _OPENING).astype(np.int64) - np.isin(codes, _CLOSING)
    return int(np.cumsum(steps).max(initial=0))


def _read_entry(archive, name, file_size):
    """The array stored as NAME.npy, read only once its header agrees with the bytes the entry holds."""
    try:
        info = archive.getinfo(name + ".npy")
    except KeyError:
        raise ValueError(f"it has no entry {name!r}") from None
    if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
        raise ValueError(f"its entry {name!r} is compressed, which minidl.save never does")
    if info.header_offset + info.compress_size > file_size:
        raise ValueError(f"its entry {name!r} claims {_size(info.file_size)}, more than the file holds")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"its entry {name!r} has .npy format version {version}, expected 1.0 or 2.0")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member)
        if dtype.hasobject:
            raise ValueError(f"its entry {name!r} holds Python objects (dtype object), which only pickle could load")
        claimed, held = math.prod(shape) * dtype.itemsize, info.file_size - member.tell()
        if claimed != held:
            raise ValueError(f"its entry {name!r} claims shape {shape} of {dtype} ({_size(claimed)}) but holds "
                             f"{_size(held)}")
        data = bytearray(member.read(claimed))
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def _size(nbytes):
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:,} bytes" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1000


def _decode(node, read, map_location):
    """The object a structure node describes; `read(entry)` gives the array stored under an entry name."""
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "dict":
        return {key: _decode(value, read, map_location) for key, value in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(value, read, map_location) for value in node["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind in ("array", "tensor", "scalar"):
        array = read(node["entry"])
        if kind == "scalar":
            return array[()]
        device = map_location or node.get("device", "cpu")
        if str(device).startswith("cuda") and not backend.gpu_available():
            raise RuntimeError("minidl.load: the file holds arrays saved on 'cuda' but no GPU is available here; "
                               "pass map_location='cpu'")
        array = backend.to_device(array, device)
        return Tensor(array, requires_grad=node.get("requires_grad", False)) if kind == "tensor" else array
    raise ValueError(f"unknown node type {kind!r} in the structure")
