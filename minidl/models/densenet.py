"""DenseNet for CIFAR (Huang, Liu, van der Maaten, Weinberger 2017, arXiv 1608.06993, Sec. 3 and 4.2).

Inside a dense block layer l sees the concatenation of everything before it, x_l = H_l([x_0, ..., x_{l-1}]),
and adds k (the growth rate) new maps. Three blocks at 32, 16, 8 px; transitions between them halve the
resolution and, with compression theta < 1, the channels. `densenet(depth, growth_rate, bottleneck,
compression)` builds any variant; the layout (stem of 16 maps, or 2k for DenseNet-BC; BN-ReLU before every
conv, also in transitions; a final BN-ReLU) reproduces the paper's parameter counts exactly: 1,019,722 for
L=40, k=12 and 769,162 for BC L=100, k=12. Each layer concatenates with F.cat, so stored feature maps grow
quadratically with block depth; `memory_efficient=True` (Pleiss et al. 2017, arXiv 1707.06990) passes
the list of feature maps instead and recomputes each layer's concatenation, BN, ReLU and first conv in
backward (minidl.recompute), so that they are never stored: the same values and gradients, less memory.
"""
import math

from .. import functional as F
from .. import nn
from ..autograd.grad_mode import is_grad_enabled
from ..recompute import recompute
from . import densenet_efficient
from .common import CifarNet, conv1x1, conv3x3
from .registry import register


class DenseLayer(nn.Module):
    """[x_0..x_{l-1}] -> [x_0..x_{l-1}, H_l([x_0..x_{l-1}])] with H_l = BN-ReLU-conv3x3(k), or for DenseNet-B
    BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k) (arXiv 1608.06993, eq. 2 and Sec. 3 "Bottleneck layers").

    `norm` normalises the concatenation; `bottleneck` (conv1x1 to 4k maps, then `bottleneck_norm`) exists only
    in DenseNet-B layers; `conv` makes the k new maps. `input_conv` is whichever conv reads the concatenation.
    """

    def __init__(self, in_channels, growth_rate, bottleneck=False, memory_efficient=False):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        if bottleneck:
            self.bottleneck = conv1x1(in_channels, 4 * growth_rate)
            self.bottleneck_norm = nn.BatchNorm2d(4 * growth_rate)
            in_channels = 4 * growth_rate
        else:
            self.bottleneck = self.bottleneck_norm = None
        self.conv = conv3x3(in_channels, growth_rate)
        self.memory_efficient = memory_efficient

    @property
    def input_conv(self):
        return self.bottleneck if self.bottleneck is not None else self.conv

    def forward(self, x):
        if not self.memory_efficient:
            return F.cat([x, self._after_input_conv(self._input_stage(x))], dim=1)
        # memory-efficient: x is the list [x_0, ..., x_{l-1}] and the list grows by one map per layer
        features = x if isinstance(x, list) else [x]
        if not (self.training and is_grad_enabled()):  # nothing is stored for backward anyway
            first = self._input_stage(*features)
        elif densenet_efficient.applies(self.norm, self.input_conv):  # DenseNet-B: see densenet_efficient.py
            first = densenet_efficient.dense_input(features, self.norm, self.input_conv)
        else:
            first = recompute(self._input_stage, *features, preserve=[self.norm])
        return features + [self._after_input_conv(first)]

    def _input_stage(self, *features):
        """input_conv(ReLU(BN([x_0..x_{l-1}]))): the part whose arrays grow with the depth of the block."""
        x = features[0] if len(features) == 1 else F.cat(list(features), dim=1)
        return self.input_conv(F.relu(self.norm(x)))

    def _after_input_conv(self, y):
        """The rest of H_l: BN-ReLU-conv3x3 after a bottleneck, nothing otherwise."""
        return y if self.bottleneck is None else self.conv(F.relu(self.bottleneck_norm(y)))


def join_features(x):
    """A memory-efficient block's list of feature maps as one concatenated tensor."""
    return F.cat(x, dim=1) if isinstance(x, list) else x


class JoinFeatures(nn.Module):
    """Ends the last memory-efficient block: concatenates its list of feature maps (no parameters)."""

    def forward(self, x):
        return join_features(x)


class Transition(nn.Module):
    """BN-ReLU-conv1x1(floor(theta * m))-avgpool(2): halves the resolution between blocks (Sec. 3 "Pooling
    layers"; the ReLU is in the authors' Lua code, not the paper's text)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv = conv1x1(in_channels, out_channels)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(F.relu(self.norm(join_features(x)))))


def densenet(depth, growth_rate=12, bottleneck=False, compression=1.0, num_classes=10, stem_channels=None,
             memory_efficient=False):
    """DenseNet(-B, -C, -BC) of the given depth; layers per block = (depth - 4) / 3, halved with bottlenecks
    (each then has two convs). stem_channels defaults to 2k for DenseNet-BC and 16 otherwise.
    memory_efficient=True recomputes what grows with block depth in backward (see the module docstring);
    parameters and state_dict keys are the same either way."""
    per_block, remainder = divmod(depth - 4, 6 if bottleneck else 3)
    if remainder or per_block < 1:
        rule = "6N + 4 with bottleneck layers" if bottleneck else "3N + 4"
        raise ValueError(f"densenet: depth must be {rule} (N layers per block, N >= 1), got {depth}")
    if not 0 < compression <= 1:
        raise ValueError(f"densenet: compression theta must be in (0, 1], got {compression}")
    if stem_channels is None:
        stem_channels = 2 * growth_rate if bottleneck and compression < 1 else 16
    channels, stages = stem_channels, []
    for b in range(3):
        layers = []
        for _ in range(per_block):
            layers.append(DenseLayer(channels, growth_rate, bottleneck, memory_efficient))
            channels += growth_rate
        if b < 2:
            out = math.floor(compression * channels)
            layers.append(Transition(channels, out))
            channels = out
        elif memory_efficient:
            layers.append(JoinFeatures())  # last in the block, so no state_dict key moves
        stages.append(nn.Sequential(*layers))
    return CifarNet(conv3x3(3, stem_channels), nn.Sequential(*stages), channels, num_classes, final_norm=True)


register("densenet40", densenet, depth=40, growth_rate=12)
register("densenet100", densenet, depth=100, growth_rate=12)
register("densenet_bc100", densenet, depth=100, growth_rate=12, bottleneck=True, compression=0.5)
