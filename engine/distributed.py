"""torchrun / DistributedDataParallel helpers. Single-process runs see world_size 1 and no-ops.

Every rank of a data-free run holds the same parameters, optimizer states, image pool and random stream;
engine.global_batch says how a batch is split over the ranks and still computed as on one process."""
import os

import torch
import torch.distributed as dist

from .errors import UserError


def init_distributed(backend=None, device=None):
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1). Returns (rank, world_size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    on_gpu = device is not None and device.type == "cuda"
    backend = backend or ("nccl" if on_gpu else "gloo")
    if backend == "nccl" and not on_gpu:
        raise UserError("--dist_backend nccl needs GPUs: use --dist_backend gloo on CPU")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://")
    return dist.get_rank(), dist.get_world_size()


def is_distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank():
    return dist.get_rank() if is_distributed() else 0


def world_size():
    return dist.get_world_size() if is_distributed() else 1


def barrier():
    if is_distributed():
        dist.barrier()


def all_reduce_mean_(tensor):
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= dist.get_world_size()
    return tensor


def sum_gradients(params):
    """Sum .grad of `params` over ranks (one flat all-reduce): each rank's gradient is its rows' share of the
    one-process gradient (engine.global_batch)."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_(tensors, src=0):
    """Overwrite `tensors` in place with rank `src`'s values."""
    if is_distributed():
        for t in tensors:
            dist.broadcast(t.data, src)


def broadcast_module_(module, src=0):
    broadcast_(list(module.parameters()) + list(module.buffers()), src)


def broadcast_buffers_(module, src=0):
    """BatchNorm running statistics drift apart when each rank updates them from its own batches."""
    broadcast_(list(module.buffers()), src)


def broadcast_object(obj, src=0):
    """Rank `src`'s value of a picklable object, on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src)
    return box[0]


def cleanup():
    if is_distributed():
        dist.destroy_process_group()


def any_rank(flag, device):
    """True on every rank when `flag` is true on any rank (a stop must be taken by all ranks at the same step)."""
    if not is_distributed():
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def gather_objects(obj):
    """Every rank's `obj`, as a list in rank order, on every rank."""
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def all_gather_cat(x):
    """Every rank's batch `x` concatenated in rank order, on every rank (batch sizes may differ)."""
    if not is_distributed():
        return x
    n = torch.tensor([len(x)], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, n)
    biggest = int(max(s.item() for s in sizes))
    padded = torch.zeros((biggest,) + x.shape[1:], dtype=x.dtype, device=x.device)
    padded[:len(x)] = x
    parts = [torch.zeros_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([p[:int(s.item())] for p, s in zip(parts, sizes, strict=True)])
