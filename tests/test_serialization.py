"""minidl.save / minidl.load: round trips of nested structures, atomic writes, and refusing foreign files."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import minidl
from minidl import nn, optim, serialization


def _nested():
    return {
        "model": {"layer1.weight": minidl.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
                  "counter": np.array(3, np.int64)},
        "optimizer": {"state": {0: {"step": 4, "exp_avg": np.full(2, 0.5)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False, "params": [0]}]},
        "history": [1.5, None, "text", [True, -2]],
        "scalar": np.float32(2.5),
        "big": 2 ** 100,
        "nan": float("nan"),
        "file": np.zeros(1),  # a name that np.savez would take as its own keyword argument
    }


def test_round_trip_keeps_structure_types_and_dtypes(tmp_path):
    path = tmp_path / "obj.npz"
    minidl.save(_nested(), path)
    loaded = minidl.load(path)
    assert list(loaded) == list(_nested())
    weight = loaded["model"]["layer1.weight"]
    assert isinstance(weight, minidl.Tensor) and weight.dtype == np.float32 and not weight.requires_grad
    np.testing.assert_array_equal(weight.data, np.arange(6).reshape(2, 3))
    counter = loaded["model"]["counter"]
    assert isinstance(counter, np.ndarray) and counter.dtype == np.int64 and counter == 3
    state = loaded["optimizer"]["state"]
    assert list(state) == [0] and state[0]["step"] == 4  # int keys stay ints
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["history"] == [1.5, None, "text", [True, -2]]
    assert type(loaded["history"][3][0]) is bool
    assert loaded["scalar"] == np.float32(2.5) and loaded["scalar"].dtype == np.float32
    assert loaded["big"] == 2 ** 100 and np.isnan(loaded["nan"])


def test_round_trip_of_model_and_optimizer_state(tmp_path):
    minidl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(minidl.Tensor(np.ones((5, 3), np.float32))).sum().backward()
    opt.step()
    minidl.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.npz")
    loaded = minidl.load(tmp_path / "c.npz", map_location="cpu")
    assert list(loaded["model"]) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded["model"][key].data, value.data)
    assert loaded["optimizer"]["state"][0]["step"] == 1
    np.testing.assert_array_equal(loaded["optimizer"]["state"][5]["exp_avg"], opt.state_dict()["state"][5]["exp_avg"])


def test_parameter_and_requires_grad_are_kept(tmp_path):
    minidl.save([nn.Parameter(np.ones(2, np.float32))], tmp_path / "p.npz")
    (loaded,) = minidl.load(tmp_path / "p.npz")
    assert isinstance(loaded, minidl.Tensor) and loaded.requires_grad


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    minidl.save({"a": np.ones(3)}, path)
    minidl.save({"a": np.zeros(3)}, path)  # replaces the old file
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(minidl.load(path)["a"], np.zeros(3))


def test_an_error_mid_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    minidl.save({"a": np.ones(3)}, path)
    real_write = np.lib.format.write_array
    calls = []

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        minidl.save({"a": np.zeros(3), "b": np.zeros(3), "c": np.zeros(3)}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(minidl.load(path)["a"], np.ones(3))


def test_unsupported_objects_fail_before_anything_is_written(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="cannot save an object of type Linear at 'net'"):
        minidl.save({"net": nn.Linear(2, 2)}, path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        minidl.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="dtype object"):
        minidl.save({"o": np.array([{}, 1], dtype=object)}, path)
    assert os.listdir(tmp_path) == []


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


@pytest.mark.parametrize("write", [
    lambda p: p.write_bytes(pickle.dumps({"weights": _Exploit()})),
    lambda p: p.write_bytes(os.urandom(512)),
    lambda p: p.write_bytes(b""),
    lambda p: np.save(open(p, "wb"), np.ones(2)),
    lambda p: np.savez(open(p, "wb"), weights=np.ones(2)),
    lambda p: np.savez(open(p, "wb"), obj=np.array([_Exploit()], dtype=object), __minidl__=np.array("{}")),
])
def test_foreign_files_are_refused_clearly(tmp_path, write):
    path = tmp_path / "bad.npz"
    write(path)
    with pytest.raises(ValueError, match="is not a readable minidl.save file"):
        minidl.load(path)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    minidl.save({"a": np.ones(1000)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not a readable minidl.save file"):
        minidl.load(path)


def test_the_file_is_a_plain_npz(tmp_path):
    path = tmp_path / "c.npz"
    minidl.save({"model": {"fc.weight": np.ones(2)}}, path)
    assert sorted(zipfile.ZipFile(path).namelist()) == ["__minidl__.npy", "model/fc.weight.npy"]
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["model/fc.weight"], np.ones(2))


def test_cuda_arrays_without_a_gpu_need_map_location(tmp_path):
    path = tmp_path / "c.npz"
    root = {"type": "dict", "items": [["w", {"type": "tensor", "requires_grad": False, "entry": "w",
                                              "device": "cuda"}]]}
    meta = json.dumps({"format": "minidl.save", "version": 1, "root": root})
    with open(path, "wb") as f:  # what save() writes on a GPU machine
        serialization._write_npz(f, {"__minidl__": np.array(meta), "w": np.ones(2)})
    if not minidl.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            minidl.load(path)
    loaded = minidl.load(path, map_location="cpu")["w"]
    assert loaded.device == "cpu" and loaded.shape == (2,)


def _crafted(path, meta, entries=()):
    """A zip in minidl.save's layout whose metadata and .npy members are written by hand: (name, header dict,
    data bytes) for each member."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("__minidl__.npy", "w") as member:
            np.lib.format.write_array(member, np.array(json.dumps(meta)))
        for name, header, data in entries:
            with archive.open(name + ".npy", "w") as member:
                np.lib.format.write_array_header_1_0(member, header)
                member.write(data)


def test_a_header_claiming_8_tb_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    root = {"type": "array", "entry": "w", "device": "cpu"}
    _crafted(path, {"format": "minidl.save", "version": 1, "root": root},
             [("w", {"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)}, b"\0" * 16)])
    with pytest.raises(ValueError, match=r"its entry 'w' claims shape \(1000000000000,\) of float64 \(8.0 TB\) but "
                                         r"holds 16 bytes"):
        minidl.load(path)


def test_metadata_nested_10000_deep_is_refused_without_a_recursion_error(tmp_path):
    path = tmp_path / "deep.npz"
    # json.dumps itself would recurse too deeply: the text is built by hand (outer dict, then 2 levels per list node)
    text = ('{"format": "minidl.save", "version": 1, "root": ' + '{"type": "list", "items": [' * 10_000
            + '{"type": "list", "items": []}' + "]}" * 10_000 + "}")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        with archive.open("__minidl__.npy", "w") as member:
            np.lib.format.write_array(member, np.array(text))
    with pytest.raises(ValueError, match="its structure nests 20003 levels deep, more than the 100 allowed"):
        minidl.load(path)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "keys.npz"
    minidl.save({"[[[[" * 60: 1, 'say "{{{{"': [2]}, path)
    assert minidl.load(path) == {"[[[[" * 60: 1, 'say "{{{{"': [2]}


@pytest.mark.parametrize("content,reason", [
    (b'{\n  "model": "resnet20",\n  "epochs": []\n}', "it is a JSON text file, such as a history, not an .npz archive"),
    (pickle.dumps({"a": 1}), "it is a pickle, which minidl never loads: loading one can run code"),
    (b"", "it is empty"),
    (b"GIF89a....", "it is not an .npz (zip) archive"),
])
def test_a_file_that_is_not_a_zip_is_described_not_called_a_pickle(tmp_path, content, reason):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as caught:
        minidl.load(path)
    assert str(caught.value) == f"minidl.load: {path} is not a readable minidl.save file ({reason})"


def test_a_compressed_entry_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, __minidl__=np.array("{}"))
    with pytest.raises(ValueError, match="its entry '__minidl__' is compressed, which minidl.save never does"):
        minidl.load(path)
