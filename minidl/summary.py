"""`summary(model, input_size)`: a table of every layer's output shape, parameters and multiply-adds.

It runs one forward pass on zeros of the given shape (batch dimension included, e.g. (1, 3, 32, 32)),
in eval mode and without recording a graph, with forward hooks recording what each module produced.
Multiply-adds count the products of Conv2d (output elements * C_in/groups * kh * kw) and Linear
(output rows * in_features * out_features); bias additions and other layers count zero.
"""
import numpy as np

from . import backend
from .autograd.grad_mode import no_grad
from .autograd.tensor import Tensor
from .nn.conv import Conv2d
from .nn.linear import Linear


def _mult_adds(module, output):
    if not isinstance(output, Tensor):
        return 0
    if isinstance(module, Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, Linear):
        return output.numel() * module.in_features
    return 0


def _shape(output):
    if isinstance(output, Tensor):
        return str(list(output.shape))
    if isinstance(output, (tuple, list)):
        return ", ".join(_shape(o) for o in output)
    return "--"


def summary(model, input_size, depth=None, dtype=None, device=None, print_table=True):
    """Print and return the table. depth limits how deep the nesting shown goes (totals always count
    everything); dtype and device default to those of the model's first parameter."""
    params = list(model.parameters())
    like = params[0] if params else None
    dtype = np.dtype(dtype or (like.dtype if like is not None else backend.get_default_dtype()))
    device = device or (like.device if like is not None else "cpu")
    x = Tensor(backend.xp_for(device).zeros(tuple(input_size), dtype=dtype))

    names = {id(m): name for name, m in model.named_modules()}
    rows, handles = [], []

    def before(module, args):
        module_name = names.get(id(module), "?")
        own = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append({"name": module_name or type(module).__name__, "type": type(module).__name__,
                     "depth": module_name.count(".") + 1 if module_name else 0, "params": own,
                     "shape": "--", "macs": 0})
        pending.append(rows[-1])

    def after(module, args, output):
        row = pending.pop()
        row["shape"], row["macs"] = _shape(output), _mult_adds(module, output)

    pending = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()

    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    macs = sum(row["macs"] for row in rows)
    table = _format(rows, depth, total, trainable, macs, tuple(input_size), params)
    if print_table:
        print(table)
    return table


def _format(rows, depth, total, trainable, macs, input_size, params):
    shown = [r for r in rows if depth is None or r["depth"] <= depth]
    labels = ["  " * r["depth"] + f"{r['name']} ({r['type']})" for r in shown]
    cells = [(label, r["shape"], f"{r['params']:,}" if r["params"] else "--", f"{r['macs']:,}" if r["macs"] else "--")
             for label, r in zip(labels, shown)]
    header = ("Layer (type)", "Output shape", "Params", "Mult-adds")
    widths = [max(len(str(c[i])) for c in cells + [header]) for i in range(4)]

    def line(c):
        return f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]:>{widths[2]}}  {c[3]:>{widths[3]}}"

    rule = "=" * len(line(header))
    param_bytes = sum(p.numel() * p.dtype.itemsize for p in params)
    footer = [f"Input size: {list(input_size)}",
              f"Total params: {total:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Total mult-adds: {macs:,} ({macs / 1e6:.2f} M)",
              f"Params size: {param_bytes / 2 ** 20:.2f} MiB"]
    return "\n".join([rule, line(header), rule] + [line(c) for c in cells] + [rule] + footer + [rule])
