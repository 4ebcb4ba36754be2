"""Global switch for graph recording: `no_grad()` and `enable_grad()` contexts (also usable as decorators)."""
import contextlib
import threading

_state = threading.local()


def is_grad_enabled():
    """Whether ops currently record the graph for backward."""
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode):
    _state.enabled = bool(mode)


class _GradMode(contextlib.ContextDecorator):
    mode = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False


class no_grad(_GradMode):
    """Inside this context no graph is recorded: results have requires_grad=False and save nothing."""
    mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a no_grad region."""
    mode = True


__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]
