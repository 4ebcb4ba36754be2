"""`train()` and `evaluate()`: the training loop a reader watches, with progress, checkpoints and resume."""
import os
import sys
import time
from collections import namedtuple

import numpy as np
from tqdm import tqdm

from .. import backend, seams
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from .arguments import check_data, check_test_data, check_train_arguments
from .checkpoint import load_checkpoint, save_checkpoint
from .divergence import TrainingDiverged, all_finite, check_epoch, check_finite_data, check_test_loss, where_kept
from .history import History
from .metrics import EpochMetrics
from .outputs import prepare_output
from .recipe import make_optimizer, make_schedule
from . import step as plain

Evaluation = namedtuple("Evaluation", ["loss", "accuracy"])


def _resolve_data(data, subset, seed):
    """(training dataset, x_test, y_test) from "cifar10", a data folder, or arrays (x_train, y_train, x_test, y_test).

    CIFAR-10's training images stay uint8 in a CIFAR10 dataset, which crops before it normalises: the padding
    of the random crop is black, as with torchvision's RandomCrop(32, padding=4) followed by Normalize. Arrays
    given directly are cropped as they are, so their zeros fill the padding.
    """
    from ..data import CIFAR10, TensorDataset, balanced_subset
    from ..data.locate import describe
    if isinstance(data, (tuple, list)) and len(data) == 4:
        for name, array in zip(("x_train", "y_train", "x_test", "y_test"), data):
            check_finite_data(name, array)
        train_set = TensorDataset(data[0], data[1])
        if subset is not None:
            keep = balanced_subset(train_set.y, subset, seed)
            train_set = TensorDataset(train_set.x[keep], train_set.y[keep])
        return train_set, data[2], data[3]
    if not isinstance(data, (str, os.PathLike)):
        raise TypeError("train: data must be 'cifar10', a folder holding cifar-10-batches-py, or a tuple "
                        f"(x_train, y_train, x_test, y_test); got {type(data).__name__}")
    root = None if data == "cifar10" else data
    train_set = CIFAR10(root, train=True, subset=subset, seed=seed, verbose=False)
    test_set = CIFAR10(root, train=False, verbose=False)
    print(describe(train_set.source, {"train": train_set.found, "test": test_set.found}, subset, seed),
          file=sys.stderr, flush=True)
    return train_set, test_set.to_float(test_set.data), test_set.targets


def evaluate(model, data, batch_size=500, device=None, label_smoothing=0.0):
    """Mean cross-entropy and accuracy of `model` (in eval mode) on (x, y) arrays or 'cifar10''s test set."""
    if isinstance(data, (str, os.PathLike)):
        from ..data import CIFAR10
        test_set = CIFAR10(None if data == "cifar10" else data, train=False)
        x, y = test_set.to_float(test_set.data), test_set.targets
    elif isinstance(data, (tuple, list)) and len(data) == 4:
        x, y = data[2], data[3]
    else:
        x, y = data
    # Only a Tensor's .data is its array (a NumPy array's .data is a memoryview, which would lose the dtype).
    x = x.data if isinstance(x, Tensor) else x
    y = np.asarray(backend.to_device(y.data if isinstance(y, Tensor) else y, "cpu"))
    check_test_data("evaluate", x, y)
    device = device or _model_device(model)
    was_training = model.training
    model.eval()
    sums = None  # [loss sum, correct] on the model's device, read once at the end (not once per batch)
    forward = seams.choose("forward", plain.forward)  # fast: chunks of the batch on every core (minidl/fast.py)
    with no_grad():
        for start in range(0, len(y), batch_size):
            xb = backend.to_device(x[start:start + batch_size], device)
            yb = backend.to_device(y[start:start + batch_size], device)
            logits = Tensor(forward(model, xb))
            loss_sum = F.cross_entropy(logits, yb, label_smoothing, reduction="sum").data
            xp = backend.get_array_module(loss_sum)
            batch = xp.stack([loss_sum.astype(xp.float64), (logits.data.argmax(1) == yb).sum().astype(xp.float64)])
            sums = batch if sums is None else sums + batch
    model.train(was_training)
    total_loss, correct = (0.0, 0.0) if sums is None else backend.to_device(sums, "cpu").tolist()
    return Evaluation(total_loss / len(y), correct / len(y))


def _model_device(model):
    for p in model.parameters():
        return p.device
    return "cpu"


def train(model, data="cifar10", epochs=10, batch_size=128, lr=0.1, momentum=0.9, weight_decay=5e-4,
          optimizer="sgd", schedule="cosine", warmup_epochs=0, label_smoothing=0.0, augment=True, subset=None,
          device="cpu", seed=0, progress=True, checkpoint=None, resume=False, step=None):
    """Train `model` on CIFAR-10 (or given arrays) and return its History, one record per epoch.

    With `checkpoint=PATH` the state is written atomically after every epoch; `resume=True` continues
    from it so that the final history equals that of an uninterrupted run with the same seed.
    Ctrl-C stops after keeping the last complete epoch's checkpoint (the History's `interrupted` is True).
    A NaN/inf loss, weights or test loss raises TrainingDiverged before that epoch is written anywhere.
    `step(model, x, y, loss_fn) -> (loss, logits)` runs one batch's forward and backward (default: the fast
    data-parallel step, or training/step.py's plain one inside `minidl.textbook_ops()`).
    """
    from ..data import DataLoader
    check_train_arguments(epochs, batch_size, lr, momentum, weight_decay, warmup_epochs, label_smoothing, subset, seed)
    seams.choose("before_training", lambda: None)()  # the fast path's set-up (minidl/fast.py)
    step = step or seams.choose("train_step", plain.train_step)
    device = backend.normalize_device(device)
    if checkpoint is not None:
        prepare_output(checkpoint, "train: checkpoint")
    train_set, x_test, y_test = _resolve_data(data, subset, seed)
    check_data(train_set, x_test, y_test)
    model.to(device)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, drop_last=False, seed=seed,
                        augment=augment, device=device)
    opt = make_optimizer(optimizer, model.parameters(), lr, momentum, weight_decay)
    sched = make_schedule(schedule, opt, epochs, len(loader), warmup_epochs)
    config = dict(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay,
                  optimizer=optimizer, schedule=schedule, warmup_epochs=warmup_epochs,
                  label_smoothing=label_smoothing, augment=augment, subset=subset, seed=seed,
                  train_images=len(train_set), test_images=len(y_test))

    backend.manual_seed(seed)
    history, start_epoch, saved = History(), 1, None
    if resume:
        if checkpoint is None:
            raise ValueError("train: resume=True needs checkpoint=PATH")
        if os.path.exists(checkpoint):
            done, records = load_checkpoint(checkpoint, model, opt, sched, config, device)
            history, start_epoch, saved = History(records), done + 1, done
            if progress:
                print(f"resuming from {checkpoint} after epoch {done}")
        else:
            print(f"no checkpoint found at {checkpoint}: starting a new run (it will be saved there)")

    epoch = start_epoch
    try:
        for epoch in range(start_epoch, epochs + 1):
            record = _train_one_epoch(model, loader, opt, sched, epoch, epochs, label_smoothing, progress, step)
            test = evaluate(model, (x_test, y_test), device=device)
            check_test_loss(test.loss, epoch, len(loader), opt)
            history.append(epoch=epoch, test_loss=test.loss, test_acc=test.accuracy, **record)
            if progress:
                tqdm.write(f"epoch {epoch}/{epochs}: train loss {record['train_loss']:.4f} acc "
                           f"{100 * record['train_acc']:.2f}% | test loss {test.loss:.4f} acc "
                           f"{100 * test.accuracy:.2f}% | {record['seconds']:.1f}s")
            if checkpoint is not None:
                save_checkpoint(checkpoint, model, opt, sched, epoch, history, config)
                saved = epoch
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"\ntrain: interrupted during epoch {epoch}{where_kept(checkpoint, saved, 'complete')}", file=sys.stderr)
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}{where_kept(checkpoint, saved, 'finite')}", history) from None
    return history


def _train_one_epoch(model, loader, opt, sched, epoch, epochs, label_smoothing, progress, train_step):
    def loss_fn(logits, y):
        return F.cross_entropy(logits, y, label_smoothing=label_smoothing)

    model.train()
    loader.set_epoch(epoch)
    start = time.perf_counter()
    lr = opt.param_groups[0]["lr"]
    bar = tqdm(total=len(loader), desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False,
               unit="batch", dynamic_ncols=True)
    # Loss and accuracy are summed on the batches' device and read once per epoch (EpochMetrics): on a GPU
    # a read per step would make the host wait for the GPU at every step.
    metrics = EpochMetrics()
    try:
        for step, (x, y) in enumerate(loader, 1):
            opt.zero_grad()
            loss, logits = train_step(model, x, y, loss_fn)
            metrics.add(step, loss, logits, y.data)
            if metrics.on_host:  # free on the CPU: stop before a bad step updates the weights
                train_loss, train_acc = check_epoch(metrics, epoch, opt, model)
            opt.step()
            sched.step()
            bar.update(1)
            if metrics.on_host:
                bar.set_postfix(loss=f"{train_loss:.3f}", acc=f"{100 * train_acc:.1f}%",
                                img_s=f"{metrics.seen / (time.perf_counter() - start):.0f}", refresh=False)
    finally:
        bar.close()
    metrics.weights_checked(all_finite(model))  # after the last update, read with the epoch's sums
    train_loss, train_acc = check_epoch(metrics, epoch, opt, model)
    return dict(train_loss=train_loss, train_acc=train_acc, lr=lr, seconds=time.perf_counter() - start)
