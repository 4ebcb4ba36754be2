"""Reference runs: what only a long run shows, made with minidl's own code by the reference suite
(lessons/_suite.py) and committed under lessons/reference/ (histories, metrics, small arrays; never weights).

A long run is a `RecordedRun`: a fixed setting and a list of units (one net trained with one seed), each written
to the file the moment it finishes, with its own provenance. A run stopped part-way resumes at the first unit not
yet in the file; a file made with another setting is started over, and the run says so.
"""
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import minidl
from minidl._atomic import atomic_open

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; two processes on one run are then the user's to avoid
    fcntl = None

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")


def provenance(wall_seconds, device, commit, **extra):
    """Where and how a result was made (`commit`: what commit() said when the run started; `extra`: what else
    the caller knows, such as how many units ran at once)."""
    return {"command": " ".join(["python"] + [os.path.relpath(sys.argv[0])] + sys.argv[1:]),
            "commit": commit, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {_cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()}",
            "threads": minidl.parallel.thread_count(), "device": device, "wall_seconds": round(wall_seconds, 1),
            "load_average": _load(), "minidl": minidl.__version__, **extra}


def timed(work, device, **extra):
    """work() -> result, timed: the entry a RecordedRun records for one unit, {"result", "provenance"}."""
    commit, started = current_commit(), time.perf_counter()
    result = work()
    return {"result": result, "provenance": provenance(time.perf_counter() - started, device, commit, **extra)}


def _load():
    """The machine's 1-minute load average when the result was saved: what else was running (None where unknown)."""
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def load(name, folder=FOLDER):
    """The committed reference run `name` (a dict with "results" and its provenance), or None if absent."""
    path = os.path.join(folder, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class RecordedRun:
    """lessons/reference/<name>.json as a set of finished units under one setting (plain JSON data)."""

    def __init__(self, name, setting, folder=None):
        self.name, self.folder = name, folder or FOLDER
        self.setting = json.loads(json.dumps(setting))  # as it reads back from the file (tuples become lists)
        saved = load(name, self.folder)
        self.units = {}
        if saved is not None and saved.get("setting") == self.setting:
            self.units = saved["units"]
        elif saved is not None:
            print(f"{relative_path(name)} was made with another setting: its {len(saved.get('units', {}))} "
                  "unit(s) are set aside and the run starts over (the file is replaced when the first new unit ends)")

    def claim(self):
        """Lock the run until release() (or this object's end), so that a second process started on the same run
        skips it instead of training the same units and overwriting the first one's; False if another process
        holds it (True where the platform has no locks)."""
        if fcntl is None:
            return True
        os.makedirs(self.folder, exist_ok=True)
        self._lock = open(os.path.join(self.folder, f".{self.name}.lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            self._lock.close()
            return False

    def release(self):
        """Let another process take the run (after claim())."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()  # closing the file drops the lock

    def done(self, unit):
        return unit in self.units

    def result(self, unit):
        """The recorded result of `unit`, or None if it has not run yet."""
        entry = self.units.get(unit)
        return None if entry is None else entry["result"]

    def run(self, unit, work, device):
        """work() -> result, timed, recorded with its provenance and written at once; skipped if already done."""
        if self.done(unit):
            return self.result(unit)
        return self.record(unit, timed(work, device))["result"]

    def record(self, unit, entry):
        """Add a finished unit's entry (from timed()) and write the file at once."""
        self.units[unit] = entry
        self.save()
        print(f"{relative_path(self.name)}: unit {unit} recorded ({len(self.units)} done)", flush=True)
        return entry

    def save(self):
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, f"{self.name}.json")
        write_json_atomically(path, {"setting": self.setting, "units": self.units})
        return path


def write_json_atomically(path, data):
    """Write `data` as JSON to `path`, whole or not at all (minidl's atomic writer)."""
    with atomic_open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def relative_path(name):
    """How verdicts.json names a reference file."""
    return f"lessons/reference/{name}.json"


def current_commit():
    """The checked-out commit, marked if the package or the lessons have uncommitted changes."""
    try:
        here = os.path.dirname(os.path.dirname(FOLDER))  # the repository root: the pathspecs below are relative to it
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "minidl", "lessons/ch*.py", "lessons/_*.py"],
                               cwd=here, capture_output=True, text=True, timeout=10).stdout.strip()
        return (head + ("+uncommitted changes" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
