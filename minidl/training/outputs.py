"""Output paths checked before a run starts, so that a bad path fails at once rather than after the last epoch."""
import os
import tempfile


def prepare_output(path, name):
    """Check that the file `path` (the option or argument `name`) can be written, creating its folder if missing.

    Raises ValueError naming `name` and the path: a folder or a device given as the path, a folder that cannot
    be made, or one where no file can be created (read-only, no permission).
    """
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{name}: the path is empty; give a file name such as run.npz")
    if os.path.isdir(path):
        raise ValueError(f"{name} {path}: is a folder; give a file name inside it, e.g. "
                         f"{os.path.join(path, 'run.npz' if 'checkpoint' in name else 'history.json')}")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"{name} {path}: is not a regular file (a device, pipe or socket), which writing would "
                         "replace; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{name} {path}: {existing} is a file, not a folder; choose another path")
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # a real write: permissions, read-only file systems, ...
            pass
    except OSError as error:
        raise ValueError(f"{name} {path}: cannot write in the folder {folder} ({error.strerror or error}); "
                         "choose another path") from None


def same_file(a, b):
    """True when the paths `a` and `b` name one file (through links, or relative and absolute spellings)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)
