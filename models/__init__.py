"""CIFAR classifiers with upstream (CMI / Fast-Datafree) parameter names, keyed by registry name."""
from .mobilenetv2 import mobilenetv2
from .resnet import resnet18, resnet34, resnet50
from .resnet_tiny import resnet8, resnet8x4, resnet14, resnet20, resnet32, resnet32x4, resnet44, resnet56, resnet110
from .shufflenetv2 import shufflenetv2
from .vgg import vgg8, vgg11, vgg13
from .wresnet import wrn16_1, wrn16_2, wrn40_1, wrn40_2

MODEL_DICT = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "wrn16_1": wrn16_1,
    "wrn16_2": wrn16_2,
    "wrn40_1": wrn40_1,
    "wrn40_2": wrn40_2,
    "vgg8": vgg8,
    "vgg11": vgg11,
    "vgg13": vgg13,
    "resnet8": resnet8,
    "resnet14": resnet14,
    "resnet20": resnet20,
    "resnet32": resnet32,
    "resnet44": resnet44,
    "resnet56": resnet56,
    "resnet110": resnet110,
    "resnet8x4": resnet8x4,
    "resnet32x4": resnet32x4,
    "mobilenetv2": mobilenetv2,
    "shufflenetv2": shufflenetv2,
}

__all__ = ["MODEL_DICT", *MODEL_DICT]
