"""Units of the reference suite trained in several worker processes at once (`reference_suite.py --jobs N`).

One training does not use even two cores fully (its data-parallel step loses about 30% to the threads' shared
caches and meeting points: two single-thread units at once make 1.30x the steps per second, benchmarks/
bench_jobs.py), still less a large CPU, and it leaves a GPU idle while its Python code runs between kernels. Only
this (the parent) process writes the files: each finished unit goes into its run's file at once, as in a
sequential run, and a unit gives the same numbers whether it ran alone or beside others.
"""
import multiprocessing
import multiprocessing.connection
import os
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


def _worker(connection, unit, device, landscape, threads, jobs):
    """The body of one unit's process: send the parent ("entry", entry) or ("error", "Type: message")."""
    _start_worker(threads)
    try:
        reply = ("entry", train(unit, device, landscape, threads, jobs))
    except Exception as error:  # the parent names it; a unit's failure must not reach the user as a traceback
        reply = ("error", f"{type(error).__name__}: {error}")
    connection.send(reply)
    connection.close()


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
    """Keep `jobs` units training, each in its own process, taken from the front of `pending` ([(run, unit)],
    shortened as they start), and record each as it ends; returns the number of units that failed. A process of
    its own per unit (not a pool) lets the parent see a worker that dies without a word, as one the system kills
    when memory runs out: that unit is named as failed and the others go on."""
    global _images
    threads = max(1, minidl.threads.thread_count() // jobs)
    start = context(device)
    _images = None  # this run's images, not an earlier call's
    if pending and start.get_start_method() == "fork":
        images()  # loaded once here, shared by the forked workers
    running, failed = {}, 0  # the parent's end of each worker's pipe -> (process, run, unit)
    try:
        while pending or running:
            while pending and len(running) < jobs and (deadline is None or time.time() < deadline):
                run, unit = pending.pop(0)
                receiver, sender = start.Pipe(duplex=False)
                landscape = run.setting["landscape"] is not None
                process = start.Process(target=_worker, args=(sender, unit, device, landscape, threads, jobs),
                                        daemon=True)
                process.start()
                sender.close()  # the worker holds the only writing end, so its death ends the pipe
                running[receiver] = (process, run, unit)
            if not running:
                break
            for receiver in multiprocessing.connection.wait(list(running)):
                process, run, unit = running.pop(receiver)
                try:
                    kind, reply = receiver.recv()
                except EOFError:  # the worker ended without a word
                    kind, reply = "error", None
                receiver.close()
                process.join()
                if kind == "entry":
                    run.record(unit, reply)
                else:  # one broken unit must not cost the others their hours
                    failed += 1
                    print(f"{_reference.relative_path(run.name)}: unit {unit} failed "
                          f"({reply or how_it_died(process.exitcode)}); it stays missing and runs again next time",
                          flush=True)
    finally:  # Ctrl-C, SIGTERM or an error here: no worker outlives the suite
        for process, _, _ in running.values():
            process.terminate()
        for process, _, _ in running.values():
            process.join()
    return failed


def how_it_died(exitcode):
    """Why a worker that sent no result ended, from its exit code (minus the signal's number if one killed it)."""
    if exitcode < 0:
        how = f"its process was killed by {signal.Signals(-exitcode).name}"
        return how + ("; if the system ran out of memory, try fewer --jobs" if -exitcode == signal.SIGKILL else "")
    return f"its process ended with exit status {exitcode} and no result"
