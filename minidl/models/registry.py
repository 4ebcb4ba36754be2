"""The model registry: `create(name, num_classes=10, **kwargs)` builds a named network, `list_models()` names them.

Each family file registers its networks as (builder, default keyword arguments), so
`create("resnet20_b")` is `resnet(depth=20, shortcut="B")` and any default can be overridden
(`create("highway20", gate_bias=-3.0)`).
"""
import difflib
import fnmatch

_MODELS = {}


def register(name, builder, **defaults):
    """Make `create(name, ...)` call `builder(num_classes=..., **defaults, **overrides)`."""
    if name in _MODELS:
        raise ValueError(f"register: a model named {name!r} is already registered")
    _MODELS[name] = (builder, defaults)


def create(name, num_classes=10, **kwargs):
    """Build the registered network `name` with `num_classes` outputs; kwargs override its defaults."""
    if name not in _MODELS:
        close = difflib.get_close_matches(str(name), _MODELS, n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ValueError(f"create: unknown model {name!r}; {hint}"
                         f"minidl.models.list_models() lists all {len(_MODELS)} names")
    builder, defaults = _MODELS[name]
    arguments = {"num_classes": num_classes, **defaults, **kwargs}
    model = builder(**arguments)
    model.zoo_spec = {"name": name, "args": arguments}  # what made it, recorded in its training checkpoints
    return model


def list_models(pattern="*"):
    """Registered names (optionally only those matching a shell pattern such as 'resnet*'), in registration order."""
    return [name for name in _MODELS if fnmatch.fnmatchcase(name, pattern)]
