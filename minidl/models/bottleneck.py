"""Post-activation bottleneck ResNet for CIFAR (He et al. 2015, Sec. 4.1 and Fig. 5, laid out as the CIFAR
ResNet-164 of He et al. 2016, appendix): depth 9n + 2, each unit 1x1 (reduce to w) -> 3x3 (w) -> 1x1 (4w).
"""
from .. import functional as F
from .. import nn
from .common import CifarNet, conv1x1, conv3x3, make_shortcut, make_stages, post_activation_stem, units_per_stage
from .registry import register

EXPANSION = 4


class BottleneckBranch(nn.Module):
    """F(x) = BN(conv1x1(ReLU(BN(conv3x3(ReLU(BN(conv1x1(x)))))))); the 3x3 conv carries the stride."""

    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * EXPANSION)
        self.bn3 = nn.BatchNorm2d(width * EXPANSION)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class BottleneckBlock(nn.Module):
    """y = ReLU(F(x) + S(x)) with the bottleneck F; S = identity or, where the shape changes, option "B"
    (1x1 projection + BN, the paper's choice for bottleneck nets) or "A"."""

    def __init__(self, in_channels, width, stride=1, shortcut="B"):
        super().__init__()
        self.branch = BottleneckBranch(in_channels, width, stride)
        self.shortcut = make_shortcut(shortcut, in_channels, width * EXPANSION, stride)

    def forward(self, x):
        return F.relu(self.branch(x) + self.shortcut(x))


def resnet_bottleneck(depth, num_classes=10, shortcut="B"):
    """The (9n+2)-layer post-activation bottleneck ResNet (ResNet-164: n = 18, 1,704,154 parameters)."""
    n = units_per_stage(f"resnet{depth}_bottleneck", depth, convs_per_unit=3)
    stages, features = make_stages(lambda c, width, stride, i: BottleneckBlock(c, width, stride, shortcut), n,
                                   expansion=EXPANSION)
    return CifarNet(post_activation_stem(), stages, features, num_classes)


register("resnet164_bottleneck", resnet_bottleneck, depth=164)
