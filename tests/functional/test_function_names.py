"""The naming rule of Function classes (minidl/functional/__init__.py): named after the op; an op with a textbook
and a fast version names each by its way; never an nn Module's name, so that a profile or a traceback says which
one ran."""
from minidl import nn
from minidl.autograd.function import Function


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_function_shares_a_module_name():
    """The profiler and tracebacks name Functions; none may read like an nn Module."""
    modules = {name for name, obj in vars(nn).items() if isinstance(obj, type) and issubclass(obj, nn.Module)}
    functions = {cls.__name__ for cls in _subclasses(Function)}
    assert {"Conv2d", "ReLU", "Linear"} <= modules and {"WinogradConv2d", "ReLUFunction", "LinearFunction"} <= functions
    clashes = sorted(functions & modules)
    assert not clashes, f"Function classes named like Modules: {clashes}"


def test_every_version_of_a_core_op_is_named_by_its_way():
    """conv2d, batch norm and the pools: Textbook<Op> in functional/textbook, <Way><Op> on the fast path."""
    import minidl  # noqa: F401  (registers every Function subclass)
    ways = ("Textbook", "Fast", "Winograd", "Im2col", "Gpu")
    core_ops = ("Conv2d", "BatchNorm", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "GlobalAvgPool2d")
    for cls in _subclasses(Function):
        module = cls.__module__.rsplit(".", 1)[-1]
        if cls.__name__ in ("TextbookFunction", "FastConv2d"):  # the base classes of the ways
            continue
        if cls.__module__.startswith("minidl.functional.textbook") or module in ("_conv_fast", "_norm_fast",
                                                                                "_pool_fast"):
            way = next((w for w in ways if cls.__name__.startswith(w)), None)
            assert way and cls.__name__[len(way):].startswith(core_ops), f"{cls.__module__}.{cls.__name__}"
