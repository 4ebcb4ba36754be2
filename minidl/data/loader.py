"""`DataLoader`: shuffled, optionally augmented mini-batches, prepared in a background thread so the
training step does not wait for them.

Everything is determined by `seed`: pass e of the loader (its e-th iteration, or the one chosen with
`set_epoch(e)` when resuming) shuffles and augments with generators derived from (seed, e) alone.
"""
import math
import queue
import threading
import time

import numpy as np

from .. import backend, seams
from ..autograd import Tensor
from .augment import random_crop_flip
from .dataset import TensorDataset


class DataLoader:
    """Iterate over a dataset (or an (x, y) pair of arrays) in batches of `(x, y)` Tensors.

    x is float32 (N, C, H, W) and y int64 (N,) (a TensorDataset keeps the dtypes of its arrays), both
    on `device` ('cpu' or 'cuda'; the copy to the GPU also happens in the background thread).
    shuffle draws a new order every pass; augment applies a 4-pixel padded random crop and a random
    horizontal flip, vectorised over the batch. prefetch batches are prepared ahead in a background
    thread (prefetch=0: in the caller's thread, handy when debugging). `wait_seconds` is the time the
    consumer spent waiting for batches during the latest pass; near zero means loading is hidden
    behind the training step. `len(loader)` is the number of batches per pass.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, drop_last=False, seed=0, augment=False,
                 prefetch=2, device="cpu"):
        if isinstance(dataset, (tuple, list)):
            if len(dataset) != 2:
                raise ValueError(f"DataLoader: expected a dataset or an (x, y) pair, got {len(dataset)} items")
            dataset = TensorDataset(*dataset)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: expected a dataset (with __len__ and __getitem__) or an (x, y) pair, "
                            f"got {type(dataset).__name__}")
        for name, value, low in (("batch_size", batch_size, 1), ("prefetch", prefetch, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"DataLoader: {name} must be an int >= {low}, got {value!r}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, int(batch_size), shuffle, drop_last
        self.seed, self.augment, self.prefetch = seed, augment, int(prefetch)
        self.device = backend.normalize_device(device)  # a bad device fails here, not in the worker thread
        self.wait_seconds = 0.0
        self._epoch = 0

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch):
        """Make the next pass use epoch `epoch`'s shuffle and augmentation (to resume a run exactly)."""
        self._epoch = int(epoch)

    def __iter__(self):
        epoch, self._epoch = self._epoch, self._epoch + 1
        self.wait_seconds = 0.0
        order_seed, augment_seed = np.random.SeedSequence([self.seed, epoch]).spawn(2)
        n = len(self.dataset)
        order = np.random.default_rng(order_seed).permutation(n) if self.shuffle else np.arange(n)
        augment_rng = np.random.default_rng(augment_seed) if self.augment else None
        # The worker thread starts on GPU 0, as every new CUDA thread does: it is told the consumer's GPU.
        gpu = backend.current_gpu() if self.device == "cuda" else None
        batches = _batches(self.dataset, order, self.batch_size, len(self), augment_rng, self.device, gpu)
        return self._timed(batches) if self.prefetch == 0 else self._prefetched(batches)

    def _timed(self, batches):
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            self.wait_seconds += time.perf_counter() - start
            if batch is None:
                return
            yield batch

    def _prefetched(self, batches):
        # The worker gets the queue, the stop flag and the batch generator, but no reference to this
        # generator: so when a loop breaks out early, this generator is collected, its `finally` runs
        # and the thread is stopped and joined.
        ready, stop = queue.Queue(maxsize=self.prefetch), threading.Event()
        worker = threading.Thread(target=_fill, args=(batches, ready, stop), name="minidl-DataLoader", daemon=True)
        worker.start()
        try:
            while True:
                start = time.perf_counter()
                kind, item = ready.get()
                self.wait_seconds += time.perf_counter() - start
                if kind == "error":
                    raise item
                if kind == "done":
                    return
                yield item
        finally:
            stop.set()
            worker.join()


def _batches(dataset, order, batch_size, count, augment_rng, device, gpu=None):
    """Generate the pass's `count` batches as (x, y) Tensors on `device` (GPU number `gpu` for 'cuda')."""
    for b in range(count):
        indices = order[b * batch_size:(b + 1) * batch_size]
        if hasattr(dataset, "get_batch"):
            x, y = dataset.get_batch(indices, augment_rng)
        else:  # a plain Dataset offers only one item at a time
            items = [dataset[int(i)] for i in indices]
            x = np.stack([np.asarray(getattr(a, "data", a)) for a, _ in items])
            y = np.asarray([getattr(label, "data", label) for _, label in items], dtype=np.int64)
            if augment_rng is not None:
                x = random_crop_flip(x, augment_rng)
        if device == "cuda":  # fast path: through pinned memory on a stream of its own (data/gpu_copy.py)
            to_gpu = seams.choose("batch_to_gpu", backend.to_gpu)
            yield Tensor(to_gpu(x, gpu)), Tensor(to_gpu(np.asarray(y), gpu))
        else:
            yield Tensor(x), Tensor(np.asarray(y))


def _fill(batches, ready, stop):
    """Worker thread: put ("batch", b) for each batch, then ("done", None), or ("error", exc) on failure."""
    try:
        for batch in batches:
            if not _put(ready, ("batch", batch), stop):
                return
        _put(ready, ("done", None), stop)
    except BaseException as exc:  # handed to the consumer, who re-raises it in its own thread
        _put(ready, ("error", exc), stop)


def _put(ready, item, stop):
    """Put item into the queue unless asked to stop; checks the flag every 50 ms while the queue is full."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=0.05)
            return True
        except queue.Full:
            pass
    return False
