"""Generators z -> image in [0, 1] (names match the upstream checkpoints: l1, conv_blocks).

`Generator` is the DCGAN-like network of the paper for small images; `DeepGenerator` upsamples four times
instead of twice, for ImageNet-sized images."""
import copy

import torch.nn as nn

from engine import distributed


class _LinearStemGenerator(nn.Module):
    """z -> l1 (Linear to widths[0] x s/k x s/k) -> BN -> [Upsample x2, Conv3x3 (no bias), BN, LeakyReLU(0.2)]
    for each consecutive pair of `widths` -> Conv3x3 -> Sigmoid, with k = 2 ** (len(widths) - 1)."""

    def __init__(self, nz, img_size, nc, widths):
        super().__init__()
        factor = 2 ** (len(widths) - 1)
        if img_size % factor:
            raise ValueError(f"{type(self).__name__} image size must be a multiple of {factor}, got {img_size}")
        self.nz, self.init_size = nz, img_size // factor
        self.l1 = nn.Sequential(nn.Linear(nz, widths[0] * self.init_size ** 2))
        layers = [nn.BatchNorm2d(widths[0])]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, stride=1, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], nc, 3, stride=1, padding=1), nn.Sigmoid()]
        self.conv_blocks = nn.Sequential(*layers)

    def forward(self, z):
        out = self.l1(z)
        out = out.view(out.shape[0], -1, self.init_size, self.init_size)
        return self.conv_blocks(out)

    def clone(self):
        """An independent copy on the same device and dtype (shares no storage)."""
        return copy.deepcopy(self)

    def reset_l0(self):
        """Re-initialise the first Linear layer and the first BatchNorm (the reference's `l1.0` and
        `conv_blocks.0`: weight N(0, 0.02), bias 0; running statistics kept); restores sample diversity late
        in training."""
        layers = [self.l1[0], self.conv_blocks[0]]
        for layer in layers:
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)
        for layer in layers:   # ranks draw different random numbers: all keep rank 0's
            distributed.broadcast_module_(layer)

    def reinitialize(self):
        """CMI's per-batch restart: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
            else:
                continue
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def reset_bn(self):
        bns = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        for m in bns:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        distributed.broadcast_([m.weight for m in bns] + [m.bias for m in bns])


class Generator(_LinearStemGenerator):
    """The paper's generator (~2.3 M parameters at nz 256, ngf 64, 32 px): two upsamplings."""

    def __init__(self, nz=256, ngf=64, img_size=32, nc=3):
        super().__init__(nz, img_size, nc, widths=[ngf * 2, ngf * 2, ngf])


class LargeGenerator(_LinearStemGenerator):
    """The wider generator zju-vipa/CMI uses for the online baselines (DAFL, ZSKT, DFQ, DFAD): widths
    4*ngf -> 2*ngf -> ngf."""

    def __init__(self, nz=256, ngf=64, img_size=32, nc=3):
        super().__init__(nz, img_size, nc, widths=[ngf * 4, ngf * 2, ngf])


class DeepGenerator(_LinearStemGenerator):
    """Four upsamplings with upstream's ImageNet widths and resolutions (14 -> 28 -> 56 -> 112 -> 224 for s = 224;
    ~6.7 M parameters at nz 256, ngf 64)."""

    def __init__(self, nz=256, ngf=64, img_size=224, nc=3):
        super().__init__(nz, img_size, nc, widths=[ngf * 2, ngf * 2, ngf, ngf, ngf])
