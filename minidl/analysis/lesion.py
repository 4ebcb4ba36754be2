"""Lesion study (Veit, Wilber, Belongie 2016 [veit2016], docs/references.md): at test time replace one or
several blocks by their shortcut and measure accuracy. A residual net barely notices a missing block (it
behaves like an ensemble of paths); a plain net, where every path runs through every layer, breaks.

What a lesioned block returns (the skip protocol), first match wins:
  1. `skip(block, x)` if the caller passes one;
  2. `block.skip_forward(x)` if the block defines it (for blocks whose shortcut reads more than x);
  3. `block.shortcut(x)` or `block.carry(x)` when that attribute is a module (identity, zero-padding or
     projection shortcut of a residual block; the carry path of a highway unit);
  4. x itself: the block is deleted outright (a plain block), possible only where it keeps the shape.
BN stays in eval mode: the study runs the model with `model.eval()` and restores its mode afterwards.
"""
import contextlib
from dataclasses import dataclass

import numpy as np

from ..nn.module import Module
from ..training.loop import evaluate
from ._common import select_modules


_MISSING = object()


class LesionShapeError(ValueError):
    """A lesioned block's skip output does not have the shape of the block's real output."""


def has_skip(name, module):
    """Default block selector: modules with a skip_forward method or a `shortcut` / `carry` attribute (a plain
    block of the zoo keeps `shortcut = None`, so it counts too)."""
    return hasattr(type(module), "skip_forward") or any(
        getattr(module, attribute, _MISSING) is not _MISSING for attribute in ("shortcut", "carry"))


def skip_output(block, x, skip=None):
    """What `block` returns when it is lesioned (see the module docstring for the protocol)."""
    if skip is not None:
        return skip(block, x)
    if hasattr(type(block), "skip_forward"):
        return block.skip_forward(x)
    for attribute in ("shortcut", "carry"):
        path = getattr(block, attribute, None)
        if isinstance(path, Module):
            return path(x)
    return x


@contextlib.contextmanager
def lesioned(model, blocks, skip=None, expected_shapes=None):
    """Inside the context every chosen block returns its skip output instead of running.

    blocks: any selector of `select_modules` (class, function, names, modules). expected_shapes maps a
    block's name to its normal output shape (without the batch dimension); a mismatch raises LesionShapeError.
    """
    chosen = select_modules(model, blocks, "lesioned", "blocks")
    for name, block in chosen:
        def forward(x, _name=name, _block=block):
            out = skip_output(_block, x, skip)
            wanted = (expected_shapes or {}).get(_name)
            if wanted is not None and tuple(out.shape[1:]) != tuple(wanted):
                raise LesionShapeError(f"lesioned: block '{_name}' ({type(_block).__name__}) cannot be removed: "
                                       f"it outputs shape {tuple(wanted)} per example, its skip path "
                                       f"{tuple(out.shape[1:])}")
            return out
        # An instance attribute shadows the class's forward, and deleting it brings the real one back.
        object.__setattr__(block, "forward", forward)
    try:
        yield [name for name, _ in chosen]
    finally:
        for _, block in chosen:
            block.__dict__.pop("forward", None)


@dataclass
class Lesion:
    """One lesion: the blocks removed, the accuracy that is left (None if a block cannot be removed)."""
    removed: tuple
    accuracy: float = None
    note: str = ""


@dataclass
class LesionResult:
    baseline: float       # accuracy of the intact model
    blocks: list          # names of the candidate blocks, in order
    lesions: list         # Lesion per tried combination

    def single_accuracies(self):
        """Accuracy with each single block removed, in block order (NaN where not measured or impossible)."""
        by_block = {l.removed[0]: l.accuracy for l in self.lesions if len(l.removed) == 1}
        return np.array([np.nan if by_block.get(b) is None else by_block[b] for b in self.blocks])

    def table(self):
        lines = [f"intact model: {100 * self.baseline:.2f}%"]
        for lesion in self.lesions:
            value = f"{100 * lesion.accuracy:6.2f}%" if lesion.accuracy is not None else "   --  "
            lines.append(f"without {', '.join(lesion.removed):<40} {value} {lesion.note}")
        return "\n".join(lines)


def random_lesions(blocks, k, count, seed=0):
    """`count` distinct random sets of k block names (or indices) to remove together, e.g. for error vs k."""
    blocks = list(blocks)
    if not 0 <= k <= len(blocks):
        raise ValueError(f"random_lesions: k must be in [0, {len(blocks)}], got {k}")
    generator, seen, out = np.random.default_rng(seed), set(), []
    for _ in range(100 * count):
        pick = tuple(sorted(generator.choice(len(blocks), k, replace=False).tolist()))
        if pick not in seen:
            seen.add(pick)
            out.append(tuple(blocks[i] for i in pick))
        if len(out) == count:
            break
    return out


def lesion_study(model, data, blocks=None, lesions=None, skip=None, batch_size=500):
    """Accuracy of `model` on data = (x, y) intact and with each lesion applied.

    blocks: selector of the candidate blocks (default `has_skip`); lesions: list of tuples of block names to
    remove together, or of their indices among the candidates (default: every single block). Blocks whose skip output has the wrong shape are reported
    with accuracy None. The model's weights and mode are unchanged afterwards.
    """
    names = [n for n, _ in select_modules(model, has_skip if blocks is None else blocks, "lesion_study", "blocks")]
    if lesions is None:
        lesions = [(n,) for n in names]
    else:  # a name or an index into `names`, or a tuple of them
        lesions = [tuple(names[i] if isinstance(i, int) else i for i in ([l] if isinstance(l, (str, int)) else l))
                   for l in lesions]
    shapes, handles = {}, []

    def remember_shape(name, out):
        shapes.setdefault(name, tuple(out.shape[1:]))  # returns None: a hook's return value replaces the output

    for name, block in select_modules(model, names, "lesion_study", "blocks"):
        handles.append(block.register_forward_hook(lambda m, args, out, name=name: remember_shape(name, out)))
    try:
        baseline = evaluate(model, data, batch_size=batch_size).accuracy
    finally:
        for handle in handles:
            handle.remove()
    results = []
    for removed in lesions:
        try:
            with lesioned(model, list(removed), skip, shapes):
                results.append(Lesion(removed, evaluate(model, data, batch_size=batch_size).accuracy))
        except LesionShapeError as error:
            results.append(Lesion(removed, None, str(error).split("cannot be removed: ", 1)[-1]))
    return LesionResult(baseline, names, results)
