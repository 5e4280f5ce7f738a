"""Small CIFAR ResNets (resnet8..resnet110, resnet8x4, resnet32x4) as in RepDistiller."""
import torch.nn.functional as F
from torch import nn

from ._base import PooledClassifier, init_conv_bn


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


class TinyResNet(PooledClassifier):
    """Depth 6n+2: a stem conv and three stages of n basic blocks (strides 1, 2, 2)."""

    def __init__(self, depth, widths, num_classes=10, in_channels=3):
        super().__init__()
        assert (depth - 2) % 6 == 0, "depth must be 6n+2"
        blocks_per_stage = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.in_planes = widths[0]
        self.layer1 = self._make_layer(widths[1], blocks_per_stage, stride=1)
        self.layer2 = self._make_layer(widths[2], blocks_per_stage, stride=2)
        self.layer3 = self._make_layer(widths[3], blocks_per_stage, stride=2)
        self.fc = nn.Linear(widths[3], num_classes)
        init_conv_bn(self)

    def _make_layer(self, planes, num_blocks, stride):
        layers = [BasicBlock(self.in_planes, planes, stride)]
        layers += [BasicBlock(planes, planes) for _ in range(num_blocks - 1)]
        self.in_planes = planes
        return nn.Sequential(*layers)

    def feature_map(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return self.layer3(self.layer2(self.layer1(x)))


_NARROW = (16, 16, 32, 64)
_WIDE = (32, 64, 128, 256)


def resnet8(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(8, _NARROW, num_classes, in_channels, **kwargs)


def resnet14(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(14, _NARROW, num_classes, in_channels, **kwargs)


def resnet20(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(20, _NARROW, num_classes, in_channels, **kwargs)


def resnet32(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(32, _NARROW, num_classes, in_channels, **kwargs)


def resnet44(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(44, _NARROW, num_classes, in_channels, **kwargs)


def resnet56(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(56, _NARROW, num_classes, in_channels, **kwargs)


def resnet110(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(110, _NARROW, num_classes, in_channels, **kwargs)


def resnet8x4(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(8, _WIDE, num_classes, in_channels, **kwargs)


def resnet32x4(num_classes=10, in_channels=3, **kwargs):
    return TinyResNet(32, _WIDE, num_classes, in_channels, **kwargs)
