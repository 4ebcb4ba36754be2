"""Does the training step wait for data? The DataLoader's wait time in real minidl.train epochs.

    python benchmarks/bench_loader.py [--model resnet20] [--epochs 2] [--threads N]

Runs minidl.train on the CIFAR-10 files (MINIDL_DATA, else ../shared/data beside the project; augmentation
on, batch 128) and reads `wait_seconds` of the DataLoader that train() builds: the time the loop spent
waiting for the next batch, which the background thread should hide behind the step. Also times building
one augmented batch alone, for scale. Appends a table to benchmarks/RESULTS.md.
"""
import argparse
import os
import time

import _bench_common as common

SECTION = "## Data loader stall (bench_loader.py)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    threads = common.set_threads(args.threads)
    minidl = common.import_minidl()
    import minidl.data

    data = os.environ.get("MINIDL_DATA") or os.path.join(common.ROOT, "..", "shared", "data")
    loaders = []

    class RecordingLoader(minidl.data.DataLoader):
        """The DataLoader train() uses, remembering each pass's wait time and batch count."""

        def __iter__(self):
            loaders.append(self)
            return super().__iter__()

    original = minidl.data.DataLoader
    minidl.data.DataLoader = RecordingLoader  # train() imports it from minidl.data when it starts
    try:
        model = minidl.models.create(args.model)
        start = time.perf_counter()
        history = minidl.train(model, data=data, epochs=args.epochs, batch_size=args.batch_size, progress=False,
                               seed=0)
        total = time.perf_counter() - start
    finally:
        minidl.data.DataLoader = original
    # wait_seconds restarts with every pass, so it holds the last epoch's wait; the first epoch also pays
    # for starting up, so the last one is the steady state
    waits, last_epoch = loaders[-1].wait_seconds, history.records[-1]["seconds"]

    x_train, y_train, _, _ = minidl.data.cifar10(root=data, verbose=False)
    loader = original((x_train, y_train), batch_size=args.batch_size, shuffle=True, augment=True, prefetch=0)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    count = 0
    for _ in iterator:
        count += 1
        if count == 10:
            break
    one_batch = (time.perf_counter() - start) / count

    batches = len(loaders[-1])
    text = (f"### {common.machine()}: {common.thread_note(threads)}; {args.model}, batch {args.batch_size}\n\n"
            f"{common.versions()}. Load average {common.load_average():.1f}. minidl.train on {len(x_train):,} "
            f"training images with augmentation, {args.epochs} epochs in {total:.0f} s.\n\n"
            "| last epoch: training loop s | batches | waited for data s | share of the epoch | per batch ms "
            "| one augmented batch built alone ms |\n|---:|---:|---:|---:|---:|---:|\n"
            f"| {last_epoch:.1f} | {batches} | {waits:.3f} | {100 * waits / last_epoch:.2f}% | "
            f"{1e3 * waits / batches:.2f} | {1e3 * one_batch:.1f} |")
    print(text)
    if not args.no_append:
        common.append_section(SECTION, text)


if __name__ == "__main__":
    main()
