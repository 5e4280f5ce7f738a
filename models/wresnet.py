"""Pre-activation WideResNet (WRN-depth-width) for CIFAR, as in ZSKT / CMI."""
import torch.nn.functional as F
from torch import nn

from ._base import PooledClassifier, init_conv_bn


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, stride: int, dropout_rate: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout_rate)
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = (
            None if self.equal_in_out
            else nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)
        )

    def forward(self, x):
        preact = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(preact)))
        out = self.conv2(self.dropout(out))
        # Upstream quirk: identity shortcuts carry the raw input, projections the pre-activated one.
        shortcut = x if self.equal_in_out else self.convShortcut(preact)
        return shortcut + out


class NetworkBlock(nn.Module):
    def __init__(self, num_layers, in_planes, out_planes, stride, dropout_rate=0.0):
        super().__init__()
        self.layer = nn.Sequential(*[
            BasicBlock(in_planes if i == 0 else out_planes, out_planes,
                       stride if i == 0 else 1, dropout_rate)
            for i in range(num_layers)
        ])

    def forward(self, x):
        return self.layer(x)


class WideResNet(PooledClassifier):
    def __init__(self, depth, widen_factor, num_classes=10, in_channels=3, dropout_rate=0.0):
        super().__init__()
        assert (depth - 4) % 6 == 0, "depth must be 6n+4"
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.block1 = NetworkBlock(n, widths[0], widths[1], 1, dropout_rate)
        self.block2 = NetworkBlock(n, widths[1], widths[2], 2, dropout_rate)
        self.block3 = NetworkBlock(n, widths[2], widths[3], 2, dropout_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.fc = nn.Linear(widths[3], num_classes)
        init_conv_bn(self)
        nn.init.zeros_(self.fc.bias)

    def feature_map(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return F.relu(self.bn1(x))


def wrn16_1(num_classes=10, in_channels=3, **kwargs):
    return WideResNet(16, 1, num_classes, in_channels, **kwargs)


def wrn16_2(num_classes=10, in_channels=3, **kwargs):
    return WideResNet(16, 2, num_classes, in_channels, **kwargs)


def wrn40_1(num_classes=10, in_channels=3, **kwargs):
    return WideResNet(40, 1, num_classes, in_channels, **kwargs)


def wrn40_2(num_classes=10, in_channels=3, **kwargs):
    return WideResNet(40, 2, num_classes, in_channels, **kwargs)
