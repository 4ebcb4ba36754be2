"""LM-ResNet (Lu, Zhong, Li, Dong 2018, "Beyond Finite Layer Neural Networks", arXiv 1710.10121): residual units
stacked by the linear two-step scheme x_{n+1} = (1 - k_n) x_n + k_n x_{n-1} + F_n(x_n), one trainable k_n per unit.

The units are the pre-activation units of preact.py, as in the authors' code, with option-A shortcuts. The
first unit of a stage changes the shape, so it is a plain residual step; for the second, x_{n-1} is the
stage's input carried into the new shape by that unit's zero-padding shortcut. k_n starts uniform in
(-0.1, 0], the authors' U(1.0, 1.1) written in the paper's k (Lu et al. 2018 [lu2018], docs/references.md);
weight decay pulls it toward 0, the plain ResNet step.
"""
from .. import nn
from .common import WIDTHS, CifarNet, conv3x3, units_per_stage
from .preact import preact_block
from .registry import register


class LMStage(nn.Module):
    """One stage: a residual step into the stage's shape, then n - 1 two-step updates with learnable k_n."""

    def __init__(self, in_channels, width, stride, n):
        super().__init__()
        self.first = preact_block(in_channels, width, stride, "A", preactivate_shortcut=True)
        self.units = nn.ModuleList([preact_block(width, width) for _ in range(n - 1)])
        self.k = nn.Parameter([0.0] * (n - 1))
        nn.init.uniform_(self.k, -0.1, 0.0)

    def forward(self, x):
        previous, x = self.first.shortcut(x), self.first(x)
        for i, unit in enumerate(self.units):
            # (1 - k) x_n + k x_{n-1} + F(x_n) = unit(x_n) + k (x_{n-1} - x_n), as unit(x) = x + F(x)
            x, previous = unit(x) + self.k[i] * (previous - x), x
        return x


def lm_resnet(depth, num_classes=10):
    """The (6n+2)-layer pre-activation CIFAR ResNet with its units stacked by the LM two-step scheme."""
    n = units_per_stage(f"lm_resnet{depth}", depth, convs_per_unit=2)
    stages, in_channels = [], 16
    for s, width in enumerate(WIDTHS):
        stages.append(LMStage(in_channels, width, 2 if s > 0 else 1, n))
        in_channels = width
    return CifarNet(conv3x3(3, 16), nn.Sequential(*stages), in_channels, num_classes, final_norm=True)


for _depth in (20, 56, 110):
    register(f"lm_resnet{_depth}", lm_resnet, depth=_depth)
