"""Shared base class and weight init for the CIFAR classifiers."""
import torch
import torch.nn.functional as F
from torch import nn


class PooledClassifier(nn.Module):
    """Backbone -> global average pool -> head, with the upstream `return_features` API.

    Subclasses implement `feature_map` and name their final layer in `head_name`,
    which keeps each architecture's upstream state_dict keys untouched.
    """

    head_name = "fc"

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def head(self) -> nn.Module:
        return getattr(self, self.head_name)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        features = torch.flatten(F.adaptive_avg_pool2d(self.feature_map(x), 1), 1)
        logits = self.head(features)
        return (logits, features) if return_features else logits


def init_conv_bn(model: nn.Module) -> None:
    """He-normal (fan_out) convolutions and identity batch norms, as in the upstream repos."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
