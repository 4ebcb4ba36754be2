"""What every CIFAR network of the zoo shares: 3x3/1x1 convolutions, the shortcut options of He et al.
2015 (Sec. 3.3), depth checks, He initialisation, and the stem -> stages -> pool -> classifier skeleton.

Layout of He et al. 2015, Sec. 4.2: a 3x3 stem conv with 16 filters, three stages at full, half and
quarter resolution with 16, 32, 64 filters (the first unit of stages 2 and 3 has stride 2), global
average pooling and a linear classifier. Convolutions have no bias: the BN after them has one.
"""
from .. import functional as F
from .. import nn

WIDTHS = (16, 32, 64)


def conv3x3(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A: identity with subsampling and zero-filled extra channels, no parameters.

    Keeps the top-left pixel of every stride x stride cell (x[:, :, ::2, ::2]) and appends
    out - in zero channels AFTER the input's channels, the order of the authors' Torch code
    (fb.resnet.torch, shortcutType 'A'; Gross & Wilber 2016 [gross2016], docs/references.md).
    """

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ZeroPadShortcut: option A can only add channels, got {in_channels} -> {out_channels}")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_channels - self.in_channels
        # F.pad lists (before, after) pairs from the last dimension: width, height, then channels.
        return F.pad(x, (0, 0, 0, 0, 0, extra)) if extra else x

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def projection(in_channels, out_channels, stride, norm=True):
    """Option B: y = W_s x as a strided 1x1 conv, followed by BN (as in the authors' code) unless norm=False."""
    layers = [conv1x1(in_channels, out_channels, stride)]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def make_shortcut(kind, in_channels, out_channels, stride, norm=True):
    """Identity where shapes agree; otherwise option "A" (zero padding) or "B" (projection)."""
    if kind not in ("A", "B"):
        raise ValueError(f"make_shortcut: shortcut must be 'A' (zero-padded identity) or 'B' (projection), "
                         f"got {kind!r}")
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    if kind == "A":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return projection(in_channels, out_channels, stride, norm)


def units_per_stage(name, depth, convs_per_unit):
    """n in depth = 3 * convs_per_unit * n + 2 (stem + 3 stages of n units + classifier); clear error otherwise."""
    step = 3 * convs_per_unit
    n, remainder = divmod(depth - 2, step)
    if remainder or n < 1:
        raise ValueError(f"{name}: depth must be {step}n + 2 for n >= 1 ({', '.join(str(step * k + 2) for k in (1, 2, 3))}"
                         f", ...), got {depth}")
    return n


def make_stages(make_unit, n, in_channels=16, widths=WIDTHS, expansion=1):
    """Three stages of n units; make_unit(in_channels, width, stride, index) builds unit `index` of a stage.

    The first unit of stages 2 and 3 has stride 2. Returns the stages and the channels they end with.
    """
    stages = []
    for s, width in enumerate(widths):
        units = []
        for i in range(n):
            units.append(make_unit(in_channels, width, 2 if s > 0 and i == 0 else 1, i))
            in_channels = width * expansion
        stages.append(nn.Sequential(*units))
    return nn.Sequential(*stages), in_channels


def init_he(model, mode="fan_out", classifier=False):
    """He et al. 2015 (arXiv 1502.01852) init: conv weights ~ N(0, 2 / (k*k*out_channels)), the fan-out form
    used by the authors' Torch code (and DenseNet's); BN weight 1, bias 0. Linear layers and conv biases keep
    nn's defaults (PyTorch's), and blocks that set a bias themselves (highway gates) keep theirs.

    mode="fan_in" uses k*k*in_channels (the paper's forward-pass form); classifier=True also gives linear
    weights N(0, 2 / in_features). Both together are the init of the popular PyTorch CIFAR ResNet port."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) or (classifier and isinstance(m, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


class CifarNet(nn.Module):
    """stem -> stages -> [BN-ReLU] -> global average pooling -> linear classifier.

    `final_norm` adds the BN-ReLU that pre-activation nets and DenseNet need after their last unit.
    """

    def __init__(self, stem, stages, features, num_classes, final_norm=False):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"CifarNet: num_classes must be positive, got {num_classes}")
        self.stem = stem
        self.stages = stages
        self.final_norm = nn.BatchNorm2d(features) if final_norm else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(features, num_classes)
        init_he(self)

    def forward(self, x):
        x = self.stages(self.stem(x))
        if self.final_norm is not None:
            x = F.relu(self.final_norm(x))
        return self.fc(self.flatten(self.pool(x)))


def post_activation_stem(channels=16):
    """conv3x3 -> BN -> ReLU, the stem of He et al. 2015's CIFAR nets."""
    return nn.Sequential(conv3x3(3, channels), nn.BatchNorm2d(channels), nn.ReLU())
