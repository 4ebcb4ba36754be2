"""Plain and residual CIFAR networks of He et al. 2015 (arXiv 1512.03385, Sec. 4.2): depth 6n + 2, n units per
stage, each unit two 3x3 convs. The plain net is the same network with every shortcut removed, so the two
have the same depth, width and (with option A) the same parameter count: resnet20 = plain20 = 269,722.
"""
from .. import functional as F
from .. import nn
from .common import CifarNet, conv3x3, make_shortcut, make_stages, post_activation_stem, units_per_stage
from .registry import register


class BasicBranch(nn.Module):
    """F(x) = BN(conv3x3(ReLU(BN(conv3x3(x))))): the residual function of the CIFAR unit; stride in the first conv."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))


class BasicBlock(nn.Module):
    """Post-activation unit y = ReLU(F(x) + S(x)) (He et al. 2015, eq. 1-2 and Fig. 2).

    S is the identity, or where the shape changes option "A" (zero padding) or "B" (projection);
    shortcut=None gives the plain unit y = ReLU(F(x)).
    """

    def __init__(self, in_channels, out_channels, stride=1, shortcut="A"):
        super().__init__()
        self.branch = BasicBranch(in_channels, out_channels, stride)
        self.shortcut = None if shortcut is None else make_shortcut(shortcut, in_channels, out_channels, stride)

    def forward(self, x):
        out = self.branch(x)
        if self.shortcut is None:
            return F.relu(out)
        return F.relu(out + self.shortcut(x))


def resnet(depth, num_classes=10, shortcut="A"):
    """The (6n+2)-layer CIFAR ResNet with shortcut option "A" (the paper's CIFAR choice) or "B"; None = plain net."""
    name = f"resnet{depth}" if shortcut is not None else f"plain{depth}"
    n = units_per_stage(name, depth, convs_per_unit=2)
    stages, features = make_stages(lambda c, width, stride, i: BasicBlock(c, width, stride, shortcut), n)
    return CifarNet(post_activation_stem(), stages, features, num_classes)


def plain(depth, num_classes=10):
    """The (6n+2)-layer plain CIFAR network: ResNet's topology with every shortcut removed."""
    return resnet(depth, num_classes, shortcut=None)


for _depth in (20, 32, 44, 56, 110):
    register(f"plain{_depth}", plain, depth=_depth)
for _depth in (20, 26, 32, 44, 50, 56, 86, 110, 1202):
    register(f"resnet{_depth}", resnet, depth=_depth)
for _depth in (20, 32, 44, 56, 110):
    register(f"resnet{_depth}_b", resnet, depth=_depth, shortcut="B")
