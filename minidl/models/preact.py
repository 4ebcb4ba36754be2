"""Pre-activation ResNets (He et al. 2016, "Identity Mappings in Deep Residual Networks", arXiv 1603.05027).

Each unit is x_{l+1} = S(x_l) + F(x_l) with nothing after the addition, F = (BN -> ReLU -> conv) repeated:
two 3x3 convs (basic, depth 6n + 2) or 1x1 -> 3x3 -> 1x1(4w) (bottleneck, depth 9n + 2). As in the paper's
appendix and the authors' code: the stem is a bare conv, the first unit of every stage applies its BN-ReLU
before the split, so its shortcut reads the activated input; the net ends with an extra BN-ReLU; the
bottleneck's projection shortcuts are bare 1x1 convs (this gives ResNet-164's 1,703,258 parameters).
"""
from .. import functional as F
from .. import nn
from .common import CifarNet, conv1x1, conv3x3, make_shortcut, make_stages, units_per_stage
from .registry import register


class PreActUnit(nn.Module):
    """x_{l+1} = S(x_l) + W_k ReLU(BN_k(... W_1 ReLU(BN_1(x_l)))) (He et al. 2016, eq. 3 and Fig. 4e).

    `preactivate_shortcut`: S reads ReLU(BN_1(x_l)) instead of x_l (first unit of a stage).
    """

    def __init__(self, convs, shortcut, preactivate_shortcut=False):
        super().__init__()
        self.norms = nn.ModuleList([nn.BatchNorm2d(conv.in_channels) for conv in convs])
        self.convs = nn.ModuleList(convs)
        self.shortcut = shortcut
        self.preactivate_shortcut = preactivate_shortcut

    def forward(self, x):
        activated = F.relu(self.norms[0](x))
        shortcut = self.shortcut(activated if self.preactivate_shortcut else x)
        out = self.convs[0](activated)
        for norm, conv in zip(self.norms[1:], self.convs[1:]):
            out = conv(F.relu(norm(out)))
        return shortcut + out

    def skip_forward(self, x):
        """The unit without its residual branch (what a lesion study keeps): S(x), or S(ReLU(BN_1(x)))."""
        return self.shortcut(F.relu(self.norms[0](x)) if self.preactivate_shortcut else x)


def preact_block(in_channels, out_channels, stride=1, shortcut="A", preactivate_shortcut=False):
    """Basic pre-activation unit: BN-ReLU-conv3x3-BN-ReLU-conv3x3 (stride in the first conv)."""
    convs = [conv3x3(in_channels, out_channels, stride), conv3x3(out_channels, out_channels)]
    return PreActUnit(convs, make_shortcut(shortcut, in_channels, out_channels, stride, norm=False),
                      preactivate_shortcut)


def preact_bottleneck(in_channels, width, stride=1, shortcut="B", preactivate_shortcut=False):
    """Bottleneck pre-activation unit: BN-ReLU-conv1x1(w)-BN-ReLU-conv3x3(w, stride)-BN-ReLU-conv1x1(4w)."""
    convs = [conv1x1(in_channels, width), conv3x3(width, width, stride), conv1x1(width, 4 * width)]
    return PreActUnit(convs, make_shortcut(shortcut, in_channels, 4 * width, stride, norm=False),
                      preactivate_shortcut)


def preact_resnet(depth, num_classes=10, bottleneck=False, shortcut=None):
    """Pre-activation ResNet; shortcut defaults to "A" (zero padding) for basic units, "B" for bottleneck ones."""
    shortcut = shortcut or ("B" if bottleneck else "A")
    name = f"preact_resnet{depth}" + ("_bottleneck" if bottleneck else "")
    n = units_per_stage(name, depth, convs_per_unit=3 if bottleneck else 2)
    unit = preact_bottleneck if bottleneck else preact_block
    stages, features = make_stages(lambda c, width, stride, i: unit(c, width, stride, shortcut, i == 0), n,
                                   expansion=4 if bottleneck else 1)
    return CifarNet(conv3x3(3, 16), stages, features, num_classes, final_norm=True)


for _depth in (20, 56, 110):
    register(f"preact_resnet{_depth}", preact_resnet, depth=_depth)
register("preact_resnet164_bottleneck", preact_resnet, depth=164, bottleneck=True)
