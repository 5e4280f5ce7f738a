"""Small image datasets (Fashion-MNIST, MNIST, CIFAR, SVHN) held in memory as uint8 tensors and served in batches:
one index gather, then crop/flip/normalise as batched operations on the training device (the code the synthetic
image pool uses), instead of per-sample transforms in worker processes."""
import math
from dataclasses import dataclass

import torch

from . import distributed
from .augment import Normalizer, random_crop_flip
from .device import epoch_seed


@dataclass
class TensorImages:
    """uint8 images (N, C, H, W) with int64 labels; training batches get a zero-padded random crop of `padding`
    pixels and, with `flip`, a random horizontal flip; every batch is normalised with mean/std."""
    images: torch.Tensor
    targets: torch.Tensor
    mean: tuple
    std: tuple
    padding: int = 0
    flip: bool = False

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        """One normalised, un-augmented sample (for inspection; training reads whole batches)."""
        x = self.images[i:i + 1].float().div_(255)
        return Normalizer(self.mean, self.std)(x)[0], int(self.targets[i])

    def subset(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return TensorImages(self.images[idx], self.targets[idx], self.mean, self.std, self.padding, self.flip)


class TensorLoader:
    """Batches of a TensorImages on `device`. Training: a fresh permutation per (seed, epoch) from its own
    generator (shared by all ranks, which take interleaved shares as DistributedSampler does), augmentation from
    the global random state (seeded per epoch by the entry scripts); evaluation: in order, normalised only."""

    def __init__(self, data, batch_size, train, device, seed=None, epoch=0):
        self.device, self.batch_size, self.train = device, batch_size, train
        self.padding, self.flip = data.padding, data.flip
        self.images = data.images.to(device)
        self.targets = data.targets.to(device)
        self.normalize = Normalizer(data.mean, data.std)
        self.world, self.rank = (distributed.world_size(), distributed.rank()) if train else (1, 0)
        # unseeded: random per run, but one order for all ranks (their seeds differ), as DistributedSampler's
        base = seed if seed is not None else (0 if self.world > 1 else torch.initial_seed())
        self.order_seed = epoch_seed(base, epoch)

    def _indices(self):
        n = len(self.targets)
        if not self.train:
            return torch.arange(n)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.order_seed))
        per_rank = math.ceil(n / self.world)
        order = torch.cat([order, order[:per_rank * self.world - n]])   # equal shares, as DistributedSampler pads
        return order[self.rank::self.world]

    def __len__(self):
        n = math.ceil(len(self.targets) / self.world)
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        indices = self._indices().to(self.device)
        for start in range(0, len(indices), self.batch_size):
            idx = indices[start:start + self.batch_size]
            x = self.images[idx].float().div_(255)
            if self.train and (self.padding or self.flip):
                x = random_crop_flip(x, self.padding, self.flip)
            yield self.normalize(x), self.targets[idx]
