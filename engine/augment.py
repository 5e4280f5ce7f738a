"""Batched image augmentation and normalisation on the training device, shared by real-data loaders and the
synthetic-image pool: every per-sample transform is one batched operation."""
import torch


class Normalizer:
    def __init__(self, mean, std):
        self.mean, self.std = tuple(mean), tuple(std)
        self._cache = {}

    def _stats(self, x):
        key = (x.device, x.dtype)
        if key not in self._cache:
            shape = (1, len(self.mean), 1, 1)
            self._cache[key] = (torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(shape),
                                torch.tensor(self.std, device=x.device, dtype=x.dtype).view(shape))
        return self._cache[key]

    def __call__(self, x):
        mean, std = self._stats(x)
        return (x - mean) / std

    def denormalize(self, x):
        mean, std = self._stats(x)
        return x * std + mean


def random_crop_flip(x, padding=4, flip=True):
    """Every sample gets its own zero-padded random crop (same size) and horizontal flip, in one gather per axis."""
    n, c, h, w = x.shape
    if padding > 0:
        x = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dev = x.device
    oy = torch.randint(0, 2 * padding + 1, (n, 1), device=dev)
    ox = torch.randint(0, 2 * padding + 1, (n, 1), device=dev)
    cols = torch.arange(w, device=dev).expand(n, w)
    if flip:
        flipped = torch.rand(n, 1, device=dev) < 0.5
        cols = torch.where(flipped, w - 1 - cols, cols)
    rows = oy + torch.arange(h, device=dev)
    cols = ox + cols
    x = x.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, x.shape[3]))
    return x.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))
