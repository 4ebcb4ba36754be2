"""DataLoader: batch shapes and types, drop_last, determinism per (seed, epoch), augmentation, thread hygiene."""
import threading

import numpy as np
import pytest

from minidl import Tensor
from minidl.data import CIFAR10, DataLoader, Dataset, TensorDataset


def arrays(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3, 8, 8)).astype(np.float32), np.arange(n, dtype=np.int64) % 10


def labels_of(loader):
    return [y.data.copy() for _, y in loader]


def loader_threads():
    return [t for t in threading.enumerate() if t.name == "minidl-DataLoader"]


@pytest.fixture
def cifar():
    return CIFAR10(verbose=False)


def test_batches_of_cifar(cifar):
    loader = DataLoader(cifar, batch_size=128, shuffle=True, augment=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 40
    x, y = batches[0]
    assert isinstance(x, Tensor) and isinstance(y, Tensor) and not x.requires_grad
    assert x.shape == (128, 3, 32, 32) and x.dtype == np.float32 and x.device == "cpu"
    assert y.shape == (128,) and y.dtype == np.int64
    assert batches[-1][0].shape[0] == 5085 - 39 * 128
    assert loader.wait_seconds >= 0.0


def test_without_augmentation_batches_are_the_dataset(cifar):
    x, y = next(iter(DataLoader(cifar, batch_size=10)))
    assert np.array_equal(y.data, cifar.targets[:10])
    np.testing.assert_array_equal(x.data[3], cifar[3][0])


def test_drop_last_and_len():
    x, y = arrays(50)
    assert len(DataLoader((x, y), batch_size=16)) == 4
    loader = DataLoader((x, y), batch_size=16, drop_last=True)
    assert len(loader) == 3 and [b.shape[0] for b, _ in loader] == [16, 16, 16]
    assert len(DataLoader((x, y), batch_size=64, drop_last=True)) == 0


def test_each_epoch_is_a_permutation_fixed_by_seed_and_epoch():
    data = arrays(50)
    loader = DataLoader(data, batch_size=8, shuffle=True, seed=7)
    first, second = np.concatenate(labels_of(loader)), np.concatenate(labels_of(loader))
    assert sorted(first.tolist()) == sorted(data[1].tolist()) and not np.array_equal(first, second)
    again = DataLoader(data, batch_size=8, shuffle=True, seed=7)
    assert np.array_equal(np.concatenate(labels_of(again)), first)
    again.set_epoch(1)  # resuming at epoch 1 reproduces epoch 1
    assert np.array_equal(np.concatenate(labels_of(again)), second)
    other_seed = DataLoader(data, batch_size=8, shuffle=True, seed=8)
    assert not np.array_equal(np.concatenate(labels_of(other_seed)), first)
    assert np.array_equal(np.concatenate(labels_of(DataLoader(data, batch_size=8))), data[1])


def test_prefetch_does_not_change_the_batches():
    data = arrays(40)
    threaded = DataLoader(data, batch_size=6, shuffle=True, augment=True, seed=3, prefetch=3)
    inline = DataLoader(data, batch_size=6, shuffle=True, augment=True, seed=3, prefetch=0)
    for (xa, ya), (xb, yb) in zip(threaded, inline):
        assert np.array_equal(xa.data, xb.data) and np.array_equal(ya.data, yb.data)


def test_augmented_batches_are_crops_or_mirrors_of_the_padded_images(helpers):
    raw = CIFAR10(normalize=False, verbose=False)
    loader = DataLoader(raw, batch_size=64, augment=True, seed=1)
    shifted, first = 0, None
    for b, (x, y) in zip(range(2), loader):
        first = x.data if first is None else first
        pixels = np.rint(x.data * 255).astype(np.uint8)  # normalize=False: x is pixels / 255
        for i, out in enumerate(pixels):
            shifts = helpers.find_shift(out, raw.data[64 * b + i])
            assert shifts, f"image {64 * b + i} is no crop of its padded original nor a mirror of one"
            shifted += (4, 4, False) not in shifts
        assert np.array_equal(y.data, raw.targets[64 * b:64 * (b + 1)])
    assert shifted > 100  # most of the 128 images moved or flipped
    again = DataLoader(raw, batch_size=64, augment=True, seed=1)
    assert np.array_equal(next(iter(again))[0].data, first)  # epoch 0 again: the same crops and flips
    assert not np.array_equal(next(iter(again))[0].data, first)  # epoch 1: new ones
    assert loader_threads() == []


def test_thread_stops_when_the_loop_breaks_or_fails():
    loader = DataLoader(arrays(200), batch_size=4, prefetch=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    assert loader_threads() == []
    with pytest.raises(RuntimeError, match="step failed"):
        for _ in loader:
            raise RuntimeError("step failed")
    assert loader_threads() == []


class Flaky(Dataset):
    def __len__(self):
        return 30

    def __getitem__(self, i):
        if i == 17:
            raise KeyError("image 17 is unreadable")
        return np.full((3, 4, 4), i, np.float32), i % 10


def test_worker_errors_reach_the_consumer_and_plain_datasets_work():
    with pytest.raises(KeyError, match="image 17"):
        list(DataLoader(Flaky(), batch_size=5))
    assert loader_threads() == []
    x, y = next(iter(DataLoader(Flaky(), batch_size=5)))
    assert x.shape == (5, 3, 4, 4) and y.data.tolist() == [0, 1, 2, 3, 4] and y.dtype == np.int64


def test_tensor_dataset_and_bad_arguments():
    x, y = arrays(10)
    ds = TensorDataset(Tensor(x), y)
    assert len(ds) == 10 and np.array_equal(ds[2][0], x[2])
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(x, y[:5])
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        DataLoader((x, y), batch_size=0)
    with pytest.raises(ValueError, match="prefetch must be an int >= 0"):
        DataLoader((x, y), prefetch=-1)
    with pytest.raises(TypeError, match="expected a dataset"):
        DataLoader(42)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        DataLoader((x, y), device="tpu")


@pytest.mark.gpu
def test_batches_on_the_gpu():
    data = arrays(20)
    on_gpu = DataLoader(data, batch_size=8, shuffle=True, augment=True, device="cuda")
    on_cpu = DataLoader(data, batch_size=8, shuffle=True, augment=True)
    for (xg, yg), (xc, yc) in zip(on_gpu, on_cpu):
        assert xg.device == yg.device == "cuda" and yg.dtype == np.int64
        assert np.array_equal(xg.numpy(), xc.data) and np.array_equal(yg.numpy(), yc.data)
    assert loader_threads() == []
