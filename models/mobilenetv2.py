"""MobileNetV2 as CMI / Fast-Datafree register it: torchvision layout, width 1.0, stride-2 stem."""
from torch import nn

from ._base import PooledClassifier, init_conv_bn

# (expansion t, output channels c, repeats n, first stride s) per stage, from the paper.
_STAGES = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor` without dropping more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, (kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_planes),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, in_planes, out_planes, stride, expand_ratio):
        super().__init__()
        hidden = int(round(in_planes * expand_ratio))
        self.use_residual = stride == 1 and in_planes == out_planes
        layers = [ConvBNReLU(in_planes, hidden, kernel_size=1)] if expand_ratio != 1 else []
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, out_planes, 1, bias=False),  # linear bottleneck
            nn.BatchNorm2d(out_planes),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(PooledClassifier):
    head_name = "classifier"

    def __init__(self, num_classes=10, in_channels=3, width_mult=1.0, dropout=0.2):
        super().__init__()
        planes = _make_divisible(32 * width_mult)
        last_planes = _make_divisible(1280 * max(1.0, width_mult))
        layers = [ConvBNReLU(in_channels, planes, stride=2)]
        for t, c, n, s in _STAGES:
            out_planes = _make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(planes, out_planes, s if i == 0 else 1, t))
                planes = out_planes
        layers.append(ConvBNReLU(planes, last_planes, kernel_size=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_planes, num_classes))
        init_conv_bn(self)
        nn.init.normal_(self.classifier[1].weight, 0, 0.01)
        nn.init.zeros_(self.classifier[1].bias)

    def feature_map(self, x):
        return self.features(x)


def mobilenetv2(num_classes=10, in_channels=3, **kwargs):
    return MobileNetV2(num_classes, in_channels, **kwargs)
