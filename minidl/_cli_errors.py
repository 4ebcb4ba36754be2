"""The one line the command line prints for a failure: what went wrong, on which path or option, and what to do."""
import errno

_ADVICE = {
    errno.ENOSPC: "free some disk space or choose another path",
    errno.EDQUOT: "free some disk space or choose another path",
    errno.EACCES: "check its permissions or choose another path",
    errno.EPERM: "check its permissions or choose another path",
    errno.EROFS: "the file system is read-only: choose another path",
    errno.EISDIR: "it is a folder: give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "check the path",
}

_EXPECTED = (ValueError, ArithmeticError, OSError, RuntimeError, TypeError)


def describe_error(error):
    """One line for `error`: its own message where minidl wrote one, else its kind, path and advice."""
    if isinstance(error, MemoryError):
        return (f"out of memory{f' ({error})' if str(error) else ''}; try a smaller --batch-size or --subset, "
                "or a machine with more memory")
    if isinstance(error, RecursionError):
        return f"a structure nested too deeply to handle ({error}); is the input file crafted or damaged?"
    if isinstance(error, OSError) and error.filename is not None:
        advice = _ADVICE.get(error.errno)
        return f"{error.filename}: {error.strerror or error}" + (f"; {advice}" if advice else "")
    text = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    if isinstance(error, _EXPECTED):  # minidl's own errors name the option or path and what to do
        return text
    return f"unexpected {type(error).__name__}: {text} (run again with --debug for the traceback, and please report it)"
