"""VGG-8/11/13 with batch norm for CIFAR (RepDistiller layout: five conv blocks, one linear)."""
import torch.nn.functional as F
from torch import nn

from ._base import PooledClassifier, init_conv_bn

# Conv widths of the five blocks; a 2x2 max-pool follows each of the first three.
_CONFIGS = {
    "vgg8": [[64], [128], [256], [512], [512]],
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
}


def _conv_block(widths, in_channels):
    """conv-BN-ReLU repeated, without the last ReLU (upstream applies it in forward)."""
    layers = []
    for width in widths:
        conv = nn.Conv2d(in_channels, width, 3, padding=1)
        layers += [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers[:-1])


class VGG(PooledClassifier):
    head_name = "classifier"

    def __init__(self, config, num_classes=10, in_channels=3):
        super().__init__()
        block_inputs = [in_channels] + [widths[-1] for widths in config[:-1]]
        for index, (widths, block_in) in enumerate(zip(config, block_inputs, strict=True)):
            self.add_module(f"block{index}", _conv_block(widths, block_in))
        self.classifier = nn.Linear(config[-1][-1], num_classes)
        init_conv_bn(self)
        nn.init.normal_(self.classifier.weight, 0, 0.01)
        nn.init.zeros_(self.classifier.bias)

    def feature_map(self, x):
        downsample_fourth = x.shape[2] == 64  # upstream pools after block3 only for 64x64 inputs
        x = F.max_pool2d(F.relu(self.block0(x)), 2)
        x = F.max_pool2d(F.relu(self.block1(x)), 2)
        x = F.max_pool2d(F.relu(self.block2(x)), 2)
        x = F.relu(self.block3(x))
        if downsample_fourth:
            x = F.max_pool2d(x, 2)
        return F.relu(self.block4(x))


def vgg8(num_classes=10, in_channels=3, **kwargs):
    return VGG(_CONFIGS["vgg8"], num_classes, in_channels, **kwargs)


def vgg11(num_classes=10, in_channels=3, **kwargs):
    return VGG(_CONFIGS["vgg11"], num_classes, in_channels, **kwargs)


def vgg13(num_classes=10, in_channels=3, **kwargs):
    return VGG(_CONFIGS["vgg13"], num_classes, in_channels, **kwargs)
