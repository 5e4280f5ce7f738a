"""DataLoaders whose order depends only on (seed, epoch), so a resumed run sees the same batches."""
import torch
from torch.utils.data import DataLoader, DistributedSampler

from . import distributed
from .device import seed_worker


def make_loader(dataset, batch_size, train, workers, device, seed=None, epoch=0):
    """Global `batch_size` is split over ranks; training loaders shuffle with a generator seeded per epoch."""
    per_rank = max(1, distributed.share_of(batch_size)) if train else batch_size
    generator = torch.Generator()
    generator.manual_seed((seed if seed is not None else torch.initial_seed()) + epoch)
    sampler = None
    if train and distributed.is_distributed():
        sampler = DistributedSampler(dataset, shuffle=True, seed=seed or 0)
        sampler.set_epoch(epoch)
    return DataLoader(dataset, batch_size=per_rank, shuffle=(train and sampler is None), sampler=sampler,
                      num_workers=workers, pin_memory=(device.type == "cuda"), drop_last=False,
                      generator=generator, worker_init_fn=seed_worker, persistent_workers=False)
