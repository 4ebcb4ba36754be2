"""DenseNet feature reuse (Huang et al. 2017, arXiv 1608.06993, Fig. 5): how strongly each layer of a dense
block reads the maps of each earlier layer, as the mean absolute weight of its first convolution over the
input channels that source produced.

Layer l of a block reads [x_0, x_1, ..., x_{l-1}]: k_0 channels from the block input x_0, then k (the
growth rate) from each earlier layer, in that order (each layer appends its maps after its input). So the
input channels of layer l's first conv split into slices [0, k_0), [k_0, k_0 + k), ...; a transition layer
after the block reads all of them and can be passed as the last "layer".
"""
from dataclasses import dataclass

import numpy as np

from .. import nn
from ._common import to_numpy


@dataclass
class FeatureReuse:
    """matrix[t, s]: mean |w| from source s (0 = block input, s = output of layer s) into target layer t + 1;
    NaN where t + 1 <= s (a layer cannot read a later one)."""
    matrix: np.ndarray
    sources: list
    targets: list

    def row_normalized(self):
        """Each target's row divided by its largest entry (the shading of Huang et al.'s heat map)."""
        largest = np.nanmax(self.matrix, axis=1, keepdims=True)
        return self.matrix / np.where(largest > 0, largest, 1.0)


def _first_conv(layer, index):
    for module in layer.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise ValueError(f"feature_reuse: layer {index} ({type(layer).__name__}) contains no Conv2d to read weights from")


def feature_reuse(layers, in_channels=None, growth_rate=None):
    """FeatureReuse of a dense block.

    layers: the block's layers in order (a Sequential such as `model.stages[0]`, or a list of modules),
    optionally ending with the transition; the first Conv2d inside each is the one reading the concatenation.
    in_channels (k_0) and growth_rate (k) default to what the convs' input widths imply.
    """
    if isinstance(layers, nn.Module):
        named = [(name, m) for name, m in layers.named_children()]
    else:
        named = [(f"layer {i + 1}", m) for i, m in enumerate(layers)]
    if not named:
        raise ValueError("feature_reuse: no layers given")
    convs = [_first_conv(m, i) for i, (_, m) in enumerate(named)]
    widths = [c.in_channels for c in convs]
    k0 = widths[0] if in_channels is None else in_channels
    k = (widths[1] - widths[0] if len(widths) > 1 else 0) if growth_rate is None else growth_rate
    if k0 <= 0 or (len(widths) > 1 and k <= 0):
        raise ValueError(f"feature_reuse: in_channels {k0} and growth_rate {k} must be positive (conv input widths "
                         f"{widths})")
    for t, width in enumerate(widths):
        if width != k0 + t * k:
            raise ValueError(f"feature_reuse: layer {t + 1} ('{named[t][0]}') reads {width} channels, but a dense "
                             f"block with k_0 = {k0} and growth rate {k} gives layer {t + 1} {k0 + t * k}")
    n = len(convs)
    matrix = np.full((n, n), np.nan)
    for t, conv in enumerate(convs):
        weight = np.abs(to_numpy(conv.weight.data).astype(np.float64))
        if conv.groups != 1:
            raise ValueError(f"feature_reuse: layer {t + 1} has a grouped conv (groups={conv.groups}); "
                             "its input channels do not map one-to-one to weight columns")
        for s in range(t + 1):
            start = 0 if s == 0 else k0 + (s - 1) * k
            stop = k0 if s == 0 else start + k
            matrix[t, s] = weight[:, start:stop].mean()
    sources = ["input"] + [name for name, _ in named[:-1]]
    return FeatureReuse(matrix, sources, [name for name, _ in named])
