"""Generators -> image in [0, 1] (names match the upstream checkpoints: l1, conv_blocks, n1, le1).

`Generator` is the DCGAN-like network of the paper for small images; `DeepGenerator` upsamples four times
instead of twice, for ImageNet-sized images; `SpatialDeepGenerator` is upstream's ImageNet generator, a conv stem
on a spatial latent code. `NoisyLayerGenerator` and `NoisyLayerDeepGenerator` are NAYER's
(`NLGenerator`, `NLDeepGenerator`): no latent, a fixed class embedding through a re-initialised "noisy layer"."""
import copy
import math

import torch
import torch.nn as nn

from engine import distributed


def upsampling_trunk(stem, widths, nc):
    """stem, then [Upsample x2, Conv3x3 (no bias), BN, LeakyReLU(0.2)] for each consecutive pair of `widths`,
    then Conv3x3 -> Sigmoid."""
    layers = list(stem)
    for c_in, c_out in zip(widths, widths[1:], strict=False):
        layers += [nn.Upsample(scale_factor=2), nn.Conv2d(c_in, c_out, 3, stride=1, padding=1, bias=False),
                   nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True)]
    layers += [nn.Conv2d(widths[-1], nc, 3, stride=1, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def check_size(cls, img_size, factor):
    if img_size % factor:
        raise ValueError(f"{cls.__name__} image size must be a multiple of {factor}, got {img_size}")


class _LinearStemGenerator(nn.Module):
    """z -> l1 (Linear to widths[0] x s/k x s/k) -> BN -> [Upsample x2, Conv3x3 (no bias), BN, LeakyReLU(0.2)]
    for each consecutive pair of `widths` -> Conv3x3 -> Sigmoid, with k = 2 ** (len(widths) - 1)."""

    def __init__(self, nz, img_size, nc, widths):
        super().__init__()
        factor = 2 ** (len(widths) - 1)
        check_size(type(self), img_size, factor)
        self.nz, self.init_size = nz, img_size // factor
        self.l1 = nn.Sequential(nn.Linear(nz, widths[0] * self.init_size ** 2))
        self.conv_blocks = upsampling_trunk([nn.BatchNorm2d(widths[0])], widths, nc)

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
        """CMI's per-batch restart: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0 (rank 0's on
        every rank)."""
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
            else:
                continue
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        distributed.broadcast_module_(self)

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


class SpatialDeepGenerator(nn.Module):
    """Upstream's ImageNet generator (its DeepGenerator as fast_meta_imagenet.py uses it): a spatial latent code
    (nz x s/16 x s/16) -> Conv3x3 (no bias), BN, LeakyReLU(0.2) -> four upsampling blocks (widths 2*ngf, 2*ngf, ngf,
    ngf, ngf) -> Conv3x3 -> Sigmoid. (Upstream's class also builds a Linear stem that its forward never uses;
    it is left out: it has no effect on the images, the losses or the meta steps.)"""

    upsamplings = 4

    def __init__(self, nz=256, ngf=64, img_size=224, nc=3):
        super().__init__()
        factor = 2 ** self.upsamplings
        check_size(type(self), img_size, factor)
        self.nz, self.latent_shape = nz, (nz, img_size // factor, img_size // factor)
        stem = [nn.Conv2d(nz, ngf * 2, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(ngf * 2),
                nn.LeakyReLU(0.2, inplace=True)]
        self.conv_blocks = upsampling_trunk(stem, [ngf * 2, ngf * 2, ngf, ngf, ngf], nc)

    def forward(self, z):
        return self.conv_blocks(z)

    def clone(self):
        return copy.deepcopy(self)


class NoisyLayerGenerator(nn.Module):
    """NAYER's generator: class embedding (fixed, one row per class) -> BatchNorm1d -> the noisy layer ->
    l1 (Linear to 2*ngf x s/4 x s/4) -> the trunk of `Generator`.

    The noisy layer is ceil(batch / classes) separate Linear(d, hidden) layers; layer i serves rows
    i*C .. (i+1)*C - 1 of the batch (the last one every row after), so with class-balanced targets each layer
    sees every class once. `reset_noisy_layers()` re-draws them (N(0, 1), bias 0) before each synthesis loop."""

    upsamplings = 2

    def __init__(self, class_embeddings, batch_size, hidden=1000, ngf=64, img_size=32, nc=3):
        super().__init__()
        factor = 2 ** self.upsamplings
        check_size(type(self), img_size, factor)
        num_classes, dim = class_embeddings.shape
        self.register_buffer("label_emb", torch.as_tensor(class_embeddings, dtype=torch.get_default_dtype()).clone(),
                             persistent=False)
        self.rows_per_layer, self.init_size = num_classes, img_size // factor
        # Registration order = the reference's construction order, so reinit() draws the same numbers.
        self.n1 = nn.BatchNorm1d(dim)
        self.le1 = nn.ModuleList(nn.Linear(dim, hidden) for _ in range(math.ceil(batch_size / num_classes)))
        self.l1 = nn.Sequential(nn.Linear(hidden, ngf * 2 * self.init_size ** 2))
        self.conv_blocks = self.trunk(ngf, nc)

    @staticmethod
    def trunk(ngf, nc):
        return upsampling_trunk([nn.BatchNorm2d(ngf * 2)], [ngf * 2, ngf * 2, ngf], nc)

    def forward(self, targets, first_row=0):
        """`targets` are rows first_row.. of the batch (one rank's block under torchrun): each row goes through the
        noisy layer of its row in the whole batch."""
        e = self.n1(self.label_emb[targets])
        n, last = self.rows_per_layer, len(self.le1) - 1
        blocks = []
        for i, layer in enumerate(self.le1):
            start = max(i * n - first_row, 0)
            stop = len(e) if i == last else min((i + 1) * n - first_row, len(e))
            if start < stop:
                blocks.append(layer(e[start:stop]))
        out = self.l1(torch.cat(blocks))
        return self.conv_blocks(out.view(out.shape[0], -1, self.init_size, self.init_size))

    def reset_noisy_layers(self):
        for layer in self.le1:
            nn.init.normal_(layer.weight, 0.0, 1.0)
            nn.init.zeros_(layer.bias)
        distributed.broadcast_module_(self.le1)

    def reinit(self):
        """A fresh generator in place: every layer's default initialisation in construction order (the same random
        numbers as the reference's `reinit()`, which builds a new one), BatchNorm running statistics reset."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        distributed.broadcast_module_(self)


class NoisyLayerDeepGenerator(NoisyLayerGenerator):
    """NAYER's 224 px generator (`NLDeepGenerator`): l1 to 2*ngf x s/16 x s/16, a conv block, then four
    upsampling blocks (widths 2*ngf, 2*ngf, ngf, ngf, ngf)."""

    upsamplings = 4

    @staticmethod
    def trunk(ngf, nc):
        stem = [nn.Conv2d(ngf * 2, ngf * 2, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(ngf * 2),
                nn.LeakyReLU(0.2, inplace=True)]
        return upsampling_trunk(stem, [ngf * 2, ngf * 2, ngf, ngf, ngf], nc)
