"""PyTorch twins of the benchmarked zoo models, so that bench_step.py can time both on the same topology.

Same layers, same order, same parameter counts as minidl.models (bench_step.py checks the counts before
timing): resnet20/56 with option-A shortcuts, plain20, highway20, rk4_resnet26 and densenet_bc100. Only the
benchmark imports this file; minidl never depends on PyTorch.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

WIDTHS = (16, 32, 64)


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A: every stride-th pixel, zero channels appended after the input's."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.extra, self.stride = cout - cin, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


def shortcut_a(cin, cout, stride):
    return nn.Identity() if cin == cout and stride == 1 else ZeroPadShortcut(cin, cout, stride)


class BasicBranch(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv3x3(cout, cout), nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, shortcut=True):
        super().__init__()
        self.branch = BasicBranch(cin, cout, stride)
        self.shortcut = shortcut_a(cin, cout, stride) if shortcut else None

    def forward(self, x):
        out = self.branch(x)
        return F.relu(out + self.shortcut(x) if self.shortcut is not None else out)


class HighwayUnit(nn.Module):
    def __init__(self, cin, cout, stride, gate_bias):
        super().__init__()
        self.transform = BasicBranch(cin, cout, stride)
        self.gate = nn.Conv2d(cin, cout, 1, stride=stride, bias=True)
        nn.init.constant_(self.gate.bias, gate_bias)
        self.carry = shortcut_a(cin, cout, stride)

    def forward(self, x):
        t = torch.sigmoid(self.gate(x))
        return t * F.relu(self.transform(x)) + (1 - t) * self.carry(x)


class RK4Block(nn.Module):
    """k1 = F1(x), k2 = F2(S + k1/2), k3 = F3(S + k2/2), k4 = F4(S + k3), y = ReLU(S + sum b_i k_i)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.functions = nn.ModuleList([BasicBranch(cin, cout, stride)] + [BasicBranch(cout, cout) for _ in range(3)])
        self.shortcut = shortcut_a(cin, cout, stride)

    def forward(self, x):
        s = self.shortcut(x)
        f1, f2, f3, f4 = self.functions
        k1 = f1(x)
        k2 = f2(s + k1 * 0.5)
        k3 = f3(s + k2 * 0.5)
        k4 = f4(s + k3)
        return F.relu(s + (k1 * (1 / 6) + k2 * (1 / 3) + k3 * (1 / 3) + k4 * (1 / 6)))


class DenseLayer(nn.Module):
    """BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k), output concatenated to the input."""

    def __init__(self, cin, k):
        super().__init__()
        self.h = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * k, 1, bias=False),
                               nn.BatchNorm2d(4 * k), nn.ReLU(), conv3x3(4 * k, k))

    def forward(self, x):
        return torch.cat([x, self.h(x)], 1)


class Transition(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2))


class CifarNet(nn.Module):
    def __init__(self, stem, stages, features, final_norm=False, num_classes=10):
        super().__init__()
        self.stem, self.stages = stem, stages
        self.final_norm = nn.BatchNorm2d(features) if final_norm else None
        self.fc = nn.Linear(features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.stages(self.stem(x))
        if self.final_norm is not None:
            x = F.relu(self.final_norm(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _stem():
    return nn.Sequential(conv3x3(3, 16), nn.BatchNorm2d(16), nn.ReLU())


def _stages(make_unit, n):
    stages, cin = [], 16
    for s, width in enumerate(WIDTHS):
        stages.append(nn.Sequential(*[make_unit(cin if i == 0 else width, width, 2 if s and i == 0 else 1)
                                      for i in range(n)]))
        cin = width
    return nn.Sequential(*stages)


def resnet(depth):
    return CifarNet(_stem(), _stages(BasicBlock, (depth - 2) // 6), 64)


def plain(depth):
    return CifarNet(_stem(), _stages(lambda c, w, s: BasicBlock(c, w, s, shortcut=False), (depth - 2) // 6), 64)


def highway(depth):
    bias = -float(min(round(depth / 10), 6))
    return CifarNet(_stem(), _stages(lambda c, w, s: HighwayUnit(c, w, s, bias), (depth - 2) // 6), 64)


def rk4_resnet(depth):
    return CifarNet(_stem(), _stages(RK4Block, (depth - 2) // 6 // 4), 64)


def densenet_bc(depth=100, k=12):
    per_block, channels, stages = (depth - 4) // 6, 2 * k, []
    for b in range(3):
        layers = []
        for _ in range(per_block):
            layers.append(DenseLayer(channels, k))
            channels += k
        if b < 2:
            out = math.floor(0.5 * channels)
            layers.append(Transition(channels, out))
            channels = out
        stages.append(nn.Sequential(*layers))
    return CifarNet(conv3x3(3, 2 * k), nn.Sequential(*stages), channels, final_norm=True)


MODELS = {"resnet20": lambda: resnet(20), "resnet56": lambda: resnet(56), "highway20": lambda: highway(20),
          "rk4_resnet26": lambda: rk4_resnet(26), "densenet_bc100": densenet_bc}


def create(name):
    return MODELS[name]()
