"""Units of the reference suite trained in several worker processes at once (`reference_suite.py --jobs N`).

One training does not use even two cores fully (its data-parallel step loses about 30% to the threads' shared
caches and meeting points: two single-thread units at once make 1.30x the steps per second, benchmarks/
bench_jobs.py), still less a large CPU, and it leaves a GPU idle while its Python code runs between kernels. Only
this (the parent) process writes the files: each finished unit goes into its run's file at once, as in a
sequential run, and a unit gives the same numbers whether it ran alone or beside others.
"""
import multiprocessing
import os
import queue
import signal
import time

import _reference
import _suite
import minidl
from minidl._blas import blas_threads

_images = None  # the data, loaded once per process; forked workers share the parent's copy


def images():
    """The suite's images (`_suite.cifar10_32px()`), loaded on first use in this process."""
    global _images
    if _images is None:
        _images = _suite.cifar10_32px()
    return _images


def context(device):
    """fork on a CPU where the platform has it (the workers start at once, with the parent's modules loaded);
    spawn for a GPU, since CUDA cannot be used in a child forked after its parent touched it."""
    fork = device == "cpu" and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")


def _start_worker(threads):
    """Ctrl-C and SIGTERM are the parent's to handle: it stops the workers and keeps what is recorded."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ["MINIDL_NUM_THREADS"] = str(threads)  # read by minidl.threads at each step


def train(unit, device, landscape, threads, jobs):
    """In a worker: train one unit and return its entry (result and provenance) for the parent to record."""
    net, seed = _suite.net_and_seed(unit)
    with blas_threads(threads):
        return _reference.timed(lambda: _suite.train_unit(net, seed, images(), device, landscape),
                                device, jobs=jobs)


def run_parallel(runs, device="cpu", deadline=None, jobs=2):
    """Train the missing units of `runs` ([(RecordedRun, nets)], in that order) `jobs` at a time, starting none
    after `deadline` (a time.time() value). On a CPU each worker runs on cores // jobs threads. A unit that
    fails is reported in one line and the others go on; returns the number of failed units."""
    claimed = []
    for run, nets in runs:
        if run.claim():
            claimed.append((run, nets))
        else:
            print(_suite.busy(run))
    pending = [(run, unit) for run, nets in claimed for unit in _suite.units(nets) if not run.done(unit)]
    try:
        failed = train_pending(pending, device, deadline, jobs)
    finally:
        for run, _ in claimed:
            run.release()
    if pending:
        run, unit = pending[0]
        print(f"time is up: {len(pending)} unit(s) not started, the first {unit} of {run.name}; run the command "
              "again to resume there")
    return failed


def train_pending(pending, device, deadline, jobs):
    """Keep `jobs` workers busy with units taken from the front of `pending` ([(run, unit)], shortened as they
    start) and record each as it ends; returns the number of units that failed."""
    global _images
    threads = max(1, minidl.threads.thread_count() // jobs)
    start = context(device)
    _images = None  # this run's images, not an earlier call's
    if pending and start.get_start_method() == "fork":
        images()  # loaded once here, shared by the forked workers
    finished = queue.Queue()  # (run, unit, entry or None, error or None), put by the pool's result thread
    running, failed = 0, 0
    with start.Pool(jobs, _start_worker, (threads,)) as pool:  # leaving the block stops the workers
        while pending or running:
            while pending and running < jobs and (deadline is None or time.time() < deadline):
                run, unit = pending.pop(0)
                landscape = run.setting["landscape"] is not None
                pool.apply_async(train, (unit, device, landscape, threads, jobs),
                                 callback=lambda entry, run=run, unit=unit: finished.put((run, unit, entry, None)),
                                 error_callback=lambda error, run=run, unit=unit: finished.put((run, unit, None, error)))
                running += 1
            if not running:
                break
            run, unit, entry, error = finished.get()
            running -= 1
            if error is None:
                run.record(unit, entry)
            else:  # one broken unit must not cost the others their hours
                failed += 1
                print(f"{_reference.relative_path(run.name)}: unit {unit} failed ({type(error).__name__}: {error}); "
                      "it stays missing and runs again next time", flush=True)
    return failed
