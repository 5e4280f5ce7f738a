"""Loaders whose order depends only on (seed, epoch), so a resumed run sees the same batches: in-memory
TensorImages are served by a TensorLoader, any other dataset by a DataLoader."""
import torch
from torch.utils.data import DataLoader, DistributedSampler, Subset

from . import distributed
from .device import epoch_seed, seed_worker
from .errors import UserError
from .memdata import TensorImages, TensorLoader


def make_loader(dataset, batch_size, train, workers, device, seed=None, epoch=0):
    """Global `batch_size` is split over ranks; training loaders shuffle with a generator seeded per epoch.

    Distributed training splits every epoch evenly over the ranks (DistributedSampler); evaluation loaders
    read the whole dataset on every rank."""
    per_rank = batch_size
    if train:
        per_rank = _per_rank_batch(batch_size)
    if isinstance(dataset, TensorImages):
        return TensorLoader(dataset, per_rank, train, device, seed, epoch)
    generator = torch.Generator()
    # The rank only varies worker augmentation streams; the sampler's shuffle is shared by all ranks.
    generator.manual_seed(epoch_seed(seed if seed is not None else torch.initial_seed(), epoch, distributed.rank()))
    sampler = None
    if train and distributed.is_distributed():
        sampler = DistributedSampler(dataset, shuffle=True, seed=seed or 0)
        sampler.set_epoch(epoch)
    return DataLoader(dataset, batch_size=per_rank, shuffle=(train and sampler is None), sampler=sampler,
                      num_workers=workers, pin_memory=(device.type == "cuda"), drop_last=False,
                      generator=generator, worker_init_fn=seed_worker, persistent_workers=False)


def _per_rank_batch(batch_size):
    # Equal shares: unequal ones would give ranks different batch counts and stall DDP's all-reduce.
    world = distributed.world_size()
    if batch_size % world:
        raise UserError(f"--batch_size {batch_size} must be divisible by the number of processes ({world})")
    return batch_size // world


def take_subset(dataset, n, flag):
    """The first n items of one fixed shuffle (seed 0), so every run asking for n reads the same items; 0: all."""
    if n < 0:
        raise UserError(f"{flag} must be >= 0, got {n}")
    if not n:
        return dataset
    if n > len(dataset):
        raise UserError(f"{flag} {n} exceeds the {len(dataset)} items of the split: use at most {len(dataset)}, "
                        f"or 0 for all")
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:n]
    if isinstance(dataset, TensorImages):
        return dataset.subset(order)
    return Subset(dataset, order.tolist())
