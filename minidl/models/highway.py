"""Convolutional highway networks (Srivastava, Greff, Schmidhuber 2015, arXiv 1505.00387 / 1507.06228) on the
CIFAR ResNet topology: every residual unit of the (6n+2)-layer net becomes a highway unit

    y = T(x) * H(x) + (1 - T(x)) * C(x),   T(x) = sigmoid(W_T * x + b_T)   (element-wise; 1507.06228 eq. 2-3)

H is the plain unit of the same net (two 3x3 convs with BN and ReLU), so T -> 1 gives the plain net and
T -> 0 the identity. The gate is a 1x1 conv (as in the gating ablation on CIFAR ResNets, He et al. 2016
Sec. 3.1; `gate_kernel_size=3` matches H's first conv instead), its bias b_T starts negative so every unit
starts close to carrying x through (1507.06228 Sec. 2.2).
"""
from .. import functional as F
from .. import nn
from .common import CifarNet, ZeroPadShortcut, make_stages, post_activation_stem, units_per_stage
from .registry import register
from .resnet import BasicBranch


def default_gate_bias(depth):
    """-1, -2, -3 for depth about 10, 20, 30 (1507.06228's guideline for conv highway nets), capped at -6:
    the value that let exclusive gates train on ResNet-110 (He et al. 2016, Table 1; -7 was already worse)."""
    return -float(min(round(depth / 10), 6))


class HighwayUnit(nn.Module):
    """y = T(x) * H(x) + (1 - T(x)) * C(x), T(x) = sigmoid(conv(x) + b_T).

    Carry path C where the shape changes (stride 2, more channels): option A of the ResNet paper, i.e. every
    second pixel of x with zero channels appended (the sub-sampling/zero-padding alternative 1507.06228
    names). For the appended channels (1 - T) * 0 vanishes, so there y = T * H. The gate conv has H's
    stride, so T has y's shape. Elsewhere C(x) = x.
    """

    def __init__(self, in_channels, out_channels, stride=1, gate_bias=-2.0, gate_kernel_size=1):
        super().__init__()
        if gate_kernel_size not in (1, 3):
            raise ValueError(f"HighwayUnit: gate_kernel_size must be 1 or 3, got {gate_kernel_size}")
        self.transform = BasicBranch(in_channels, out_channels, stride)
        self.gate = nn.Conv2d(in_channels, out_channels, gate_kernel_size, stride=stride,
                              padding=gate_kernel_size // 2, bias=True)
        nn.init.constant_(self.gate.bias, gate_bias)
        self.carry = ZeroPadShortcut(in_channels, out_channels, stride) if (
            stride != 1 or in_channels != out_channels) else nn.Identity()

    def forward(self, x):
        t = F.sigmoid(self.gate(x))
        h = F.relu(self.transform(x))  # H(x): the plain unit ReLU(BN(conv(ReLU(BN(conv(x))))))
        return t * h + (1 - t) * self.carry(x)


def highway(depth, num_classes=10, gate_bias=None, gate_kernel_size=1):
    """The (6n+2)-layer highway net; gate_bias defaults to `default_gate_bias(depth)`."""
    n = units_per_stage(f"highway{depth}", depth, convs_per_unit=2)
    bias = default_gate_bias(depth) if gate_bias is None else float(gate_bias)
    stages, features = make_stages(
        lambda c, width, stride, i: HighwayUnit(c, width, stride, bias, gate_kernel_size), n)
    return CifarNet(post_activation_stem(), stages, features, num_classes)


for _depth in (20, 56, 110):
    register(f"highway{_depth}", highway, depth=_depth)
