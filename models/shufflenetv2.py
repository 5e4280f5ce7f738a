"""ShuffleNetV2 (1x) for CIFAR as in RepDistiller: 1x1 stem, no stem pooling."""
import torch
import torch.nn.functional as F
from torch import nn

from ._base import PooledClassifier


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class BasicBlock(nn.Module):
    """Stride-1 unit: half the channels pass through, the other half go through 1x1-dw3x3-1x1."""

    def __init__(self, channels: int):
        super().__init__()
        half = channels // 2
        self.conv1 = nn.Conv2d(half, half, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv3 = nn.Conv2d(half, half, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(half)

    def forward(self, x):
        passthrough, branch = x.chunk(2, dim=1)
        branch = F.relu(self.bn1(self.conv1(branch)))
        branch = self.bn2(self.conv2(branch))
        branch = F.relu(self.bn3(self.conv3(branch)))
        return channel_shuffle(torch.cat([passthrough, branch], 1))


class DownBlock(nn.Module):
    """Stride-2 unit: two branches (dw3x3-1x1 and 1x1-dw3x3-1x1) each producing half the output."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, stride=2, padding=1,
                               groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, stride=2, padding=1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x):
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], 1))


def _stage(in_channels, out_channels, num_blocks):
    units = [BasicBlock(out_channels) for _ in range(num_blocks)]
    return nn.Sequential(DownBlock(in_channels, out_channels), *units)


class ShuffleNetV2(PooledClassifier):
    head_name = "linear"

    def __init__(self, num_classes=10, in_channels=3, stage_widths=(116, 232, 464),
                 stage_blocks=(3, 7, 3), head_width=1024):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        self.layer1 = _stage(24, stage_widths[0], stage_blocks[0])
        self.layer2 = _stage(stage_widths[0], stage_widths[1], stage_blocks[1])
        self.layer3 = _stage(stage_widths[1], stage_widths[2], stage_blocks[2])
        self.conv2 = nn.Conv2d(stage_widths[-1], head_width, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(head_width)
        self.linear = nn.Linear(head_width, num_classes)

    def feature_map(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return F.relu(self.bn2(self.conv2(x)))


def shufflenetv2(num_classes=10, in_channels=3, **kwargs):
    return ShuffleNetV2(num_classes, in_channels, **kwargs)
