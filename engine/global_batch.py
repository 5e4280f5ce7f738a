"""One batch over the ranks of a torchrun job, computed as one process computes it.

Every rank holds a contiguous block of rows of the global batch (`Rows`) and computes its *share* of each loss,
so that the shares summed over ranks are the one-process loss:
- random numbers of a batch are drawn for the whole batch from a stream that is the same on every rank (the run
  seeds every rank alike), and each rank keeps its rows (`Rows.take`);
- a mean over rows becomes `rows.mean_share(local_mean)` (local mean x local rows / global rows);
- a term computed from statistics of the whole batch (identical on every rank) becomes `stat_share(value)`
  (value / ranks);
- statistics of the whole batch (`all_sum`, `mean_var`, `GlobalBatchNorm`) are all-reductions whose backward
  sums the gradient over ranks (as SyncBatchNorm), so each rank's rows receive their full gradient;
- gradients of parameters every rank holds are then summed over ranks (`distributed.sum_gradients`); a rank's
  own leaves (its latent codes, its pixels) keep theirs; `report()` sums the shares into the global values.
On one process all of it is the identity: the same operations, the same numbers, bit for bit."""
import torch
import torch.distributed as dist
import torch.nn as nn

from . import distributed
from .device import upcast


class _AllSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        t = t.clone()
        dist.all_reduce(t)
        return t

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def all_sum(t):
    """Sum of `t` over ranks, differentiable (backward: the gradients summed over ranks)."""
    return _AllSum.apply(t) if distributed.is_distributed() else t


class Rows:
    """This rank's block of a global batch of `total` rows (rank r: the r-th of world_size near-equal blocks)."""

    def __init__(self, total):
        world, rank = distributed.world_size(), distributed.rank()
        self.total, self.sharded = total, world > 1
        self.start = rank * (total // world) + min(rank, total % world)
        self.count = total // world + (1 if rank < total % world else 0)

    def take(self, x):
        """This rank's rows of a tensor drawn for the whole batch."""
        return x[self.start:self.start + self.count] if self.sharded else x

    def mean_share(self, local_mean):
        """A mean over the batch's rows, from the mean over this rank's rows."""
        return local_mean * (self.count / self.total) if self.sharded else local_mean


def stat_share(value):
    """A term every rank computes alike from whole-batch statistics: each rank contributes 1 / ranks of it."""
    return value / distributed.world_size() if distributed.is_distributed() else value


def report(shares):
    """{name: detached share} -> {name: global value}, in one all-reduction."""
    if not distributed.is_distributed() or not shares:
        return shares
    names = list(shares)
    flat = all_sum(torch.stack([upcast(shares[k].detach()).reshape(()) for k in names]))
    return dict(zip(names, flat.unbind(), strict=True))


def mean_var(x, dims):
    """Per-channel mean and biased variance of `x` over `dims` and over every rank's rows, differentiable (two
    passes, as torch.var_mean: no cancellation), and the number of values behind them (a tensor under torchrun:
    no host sync)."""
    if not distributed.is_distributed():
        var, mean = torch.var_mean(x, dim=dims, unbiased=False)
        return mean, var, x.numel() // x.shape[1]
    count = torch.full((1,), float(x.numel() // x.shape[1]), device=x.device, dtype=x.dtype)
    sums = all_sum(torch.cat([x.sum(dims), count]))
    n = sums[-1]
    mean = sums[:-1] / n
    shape = [1] * x.dim()
    shape[1] = -1
    var = all_sum((x - mean.view(shape)).pow(2).sum(dims)) / n
    return mean, var, n


class GlobalBatchNorm:
    """Mixin for BatchNorm1d/2d: in training under torchrun, normalise with the statistics of the whole batch
    (over every rank) and update the running statistics from them; otherwise exactly the parent's forward."""

    def forward(self, x):
        if not (self.training and distributed.is_distributed()):
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        mean, var, n = mean_var(upcast(x), dims)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(var.detach() * (n / (n - 1).clamp_min(1)), alpha=factor)
        shape = [1] * x.dim()
        shape[1] = -1
        y = (upcast(x) - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


class GlobalBatchNorm1d(GlobalBatchNorm, nn.BatchNorm1d):
    pass


class GlobalBatchNorm2d(GlobalBatchNorm, nn.BatchNorm2d):
    pass


_GLOBAL = {nn.BatchNorm1d: GlobalBatchNorm1d, nn.BatchNorm2d: GlobalBatchNorm2d}


def global_batchnorm_(module):
    """Turn every BatchNorm1d/2d of `module` into its GlobalBatchNorm (same parameters, buffers and state-dict
    keys; the same forward on one process). Returns `module`."""
    for m in module.modules():
        if type(m) in _GLOBAL:
            m.__class__ = _GLOBAL[type(m)]
    return module
