"""torchrun / DistributedDataParallel helpers. Single-process runs see world_size 1 and no-ops."""
import os

import torch
import torch.distributed as dist


def init_distributed(backend=None, device=None):
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1). Returns (rank, world_size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if (device is not None and device.type == "cuda") else "gloo"
        dist.init_process_group(backend=backend, init_method="env://")
    return dist.get_rank(), dist.get_world_size()


def is_distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank():
    return dist.get_rank() if is_distributed() else 0


def world_size():
    return dist.get_world_size() if is_distributed() else 1


def is_main():
    return rank() == 0


def barrier():
    if is_distributed():
        dist.barrier()


def all_reduce_mean_(tensor):
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def average_gradients(params):
    """Average .grad of `params` over ranks (one flat all-reduce)."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    all_reduce_mean_(flat)
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module_(module, src=0):
    if is_distributed():
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src)


def share_of(total):
    """This rank's share of a global batch size (global sizes mean the same as on one GPU)."""
    n, r = world_size(), rank()
    return total // n + (1 if r < total % n else 0)


def unwrap(model):
    return model.module if hasattr(model, "module") else model


def cleanup():
    if is_distributed():
        dist.destroy_process_group()
