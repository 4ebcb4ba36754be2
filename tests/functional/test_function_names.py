"""Function classes are named apart from nn Modules, so that a profile or a traceback says which one ran."""
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
