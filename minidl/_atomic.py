"""Files written whole or not at all: into a temporary file beside the target, renamed over it once complete.

The temporary file is `.NAME.PID-RANDOM.part`: a process killed while writing (SIGKILL, a power cut) leaves it
behind, and the next write to NAME removes those whose process no longer exists.
"""
import contextlib
import os
import re
import secrets


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file beside `path` for writing. When the block ends normally the file is flushed,
    synced and renamed to
    `path`; when it raises, the temporary file is deleted and `path` is left as it was. `f.name` is its path.
    A file-system error (full disk, no permission) names `path`, not the hidden temporary file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        remove_stale_parts(path)
        temporary = _create_beside(folder, os.path.basename(path))
        with open(temporary, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except OSError as error:
        hidden = error.filename and os.path.basename(error.filename).startswith(f".{os.path.basename(path)}.")
        if error.errno is None or not (error.filename in (None, path) or hidden):
            raise  # not about this file (a network error of the code writing it, say)
        raise type(error)(error.errno, error.strerror, path) from error
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


def _create_beside(folder, name):
    """Create an empty `.NAME.PID-RANDOM.part` in `folder` with the permissions `open()` gives a new file
    (0o666 less the umask, applied by the kernel) and return its path."""
    while True:
        temporary = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:  # 1 in 4 billion: draw another name
            continue


def remove_stale_parts(path):
    """Delete the temporary files that writers of `path` left when they died (those of live processes stay)."""
    folder, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)-[a-z0-9_]{{8}}\.part")
    for entry in os.listdir(folder):
        match = pattern.fullmatch(entry)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, entry))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True
