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


def per_sample(draw, n, rows=None):
    """`draw(k)` random values for k samples: for the whole batch, this rank's rows kept, when `rows`
    (engine.global_batch.Rows) says x holds one rank's rows of a batch split over ranks."""
    return rows.take(draw(rows.total)) if rows is not None else draw(n)


def random_crop_flip(x, padding=4, flip=True, rows=None):
    """Every sample gets its own zero-padded random crop (same size) and horizontal flip, in one gather per axis."""
    n, c, h, w = x.shape
    if padding > 0:
        x = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dev = x.device
    oy = per_sample(lambda k: torch.randint(0, 2 * padding + 1, (k, 1), device=dev), n, rows)
    ox = per_sample(lambda k: torch.randint(0, 2 * padding + 1, (k, 1), device=dev), n, rows)
    cols = torch.arange(w, device=dev).expand(n, w)
    if flip:
        flipped = per_sample(lambda k: torch.rand(k, 1, device=dev), n, rows) < 0.5
        cols = torch.where(flipped, w - 1 - cols, cols)
    rows = oy + torch.arange(h, device=dev)
    cols = ox + cols
    x = x.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, x.shape[3]))
    return x.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))
