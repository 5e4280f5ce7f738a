"""DCGAN-like generator z -> image in [0, 1] (names match the upstream checkpoints: l1, conv_blocks)."""
import copy

import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, nz=256, ngf=64, img_size=32, nc=3):
        super().__init__()
        if img_size % 4:
            raise ValueError(f"generator image size must be a multiple of 4, got {img_size}")
        self.nz, self.init_size = nz, img_size // 4
        self.l1 = nn.Sequential(nn.Linear(nz, ngf * 2 * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(ngf * 2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ngf * 2, ngf * 2, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ngf * 2, ngf, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ngf, nc, 3, stride=1, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], -1, self.init_size, self.init_size)
        return self.conv_blocks(out)

    def clone(self):
        """An independent copy on the same device and dtype (shares no storage)."""
        return copy.deepcopy(self)

    def reset_l0(self):
        """Re-initialise the first Linear layer; restores sample diversity late in training."""
        layer = self.l1[0]
        nn.init.normal_(layer.weight, 0.0, 0.02)
        nn.init.zeros_(layer.bias)

    def reset_bn(self):
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
