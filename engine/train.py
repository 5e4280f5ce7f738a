"""Training, distillation and evaluation loops shared by every entry script."""
import math

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import distributed
from .device import upcast
from .errors import UserError
from .preemption import rng_state, skip_then_restore
from .progress import Progress


def kd_loss(student_logits, teacher_logits, T=1.0):
    """Hinton KD: KL(softmax(t/T) || softmax(s/T)) * T^2, averaged over the batch (the reference's op sequence:
    at T = 20 the terms nearly cancel, and other float32 formulations differ from it by ~1e-5)."""
    log_p_s = F.log_softmax(upcast(student_logits) / T, dim=1)
    p_t = F.softmax(upcast(teacher_logits) / T, dim=1)
    return F.kl_div(log_p_s, p_t, reduction="batchmean") * (T * T)


def topk_correct(logits, targets, ks=(1, 5)):
    maxk = min(max(ks), logits.size(1))
    pred = logits.topk(maxk, dim=1).indices
    hit = pred.eq(targets.view(-1, 1))
    return [hit[:, :min(k, maxk)].any(dim=1).sum().item() for k in ks]


@torch.inference_mode()
def evaluate(model, loader, device, precision=None, desc="eval"):
    """Top-1 / top-5 accuracy (%) and mean cross-entropy on `loader`."""
    was_training = model.training
    model.eval()
    n = correct1 = correct5 = 0
    loss_sum = 0.0
    for images, targets in tqdm(loader, desc=desc, leave=False, disable=None):
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        with precision.autocast() if precision else torch.autocast(device.type, enabled=False):
            logits = model(images)
        loss_sum += F.cross_entropy(upcast(logits), targets, reduction="sum").item()
        c1, c5 = topk_correct(logits, targets)
        correct1, correct5, n = correct1 + c1, correct5 + c5, n + targets.numel()
    model.train(was_training)
    return {"acc1": 100.0 * correct1 / max(n, 1), "acc5": 100.0 * correct5 / max(n, 1), "loss": loss_sum / max(n, 1)}


def train_epoch(model, loader, optimizer, device, precision, desc="train", should_stop=None, start=None,
                log_every=0, log=None):
    """One supervised epoch with cross-entropy. Returns mean loss and top-1 on the training batches, and `stopped`:
    when `should_stop()` says so after a batch, the position, sums and random state to continue from (`start`).
    Without a terminal, `log` gets a progress line every `log_every` steps (engine.progress)."""
    model.train()
    sums = {k: torch.as_tensor(v, dtype=torch.float64, device=device)
            for k, v in (start["sums"] if start else {"n": 0, "correct": 0, "loss_sum": 0.0}).items()}
    stopped = None
    first = start["batch"] if start else 0
    progress = Progress(skip_then_restore(loader, start), len(loader), desc, log_every, log, first)
    for i, (images, targets) in enumerate(progress, start=first):
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        with precision.autocast():
            logits = model(images)
            loss = F.cross_entropy(upcast(logits), targets)
        precision.backward_step(loss, optimizer)
        sums["loss_sum"] += loss.detach() * targets.numel()   # summed on the device: no host sync per step
        sums["correct"] += (logits.argmax(1) == targets).sum()
        sums["n"] += targets.numel()
        progress.update(i, loss, targets.numel())
        if should_stop is not None and i + 1 < len(loader) and should_stop():
            stopped = {"batch": i + 1, "sums": {k: v.item() for k, v in sums.items()}, "rng": rng_state()}
            break
    n = max(sums["n"].item(), 1)
    return {"loss": sums["loss_sum"].item() / n, "acc1": 100.0 * sums["correct"].item() / n, "stopped": stopped}


def kd_step(student, teacher, images, optimizer, precision, T=1.0, targets=None, alpha=0.0, beta=1.0,
            loss_fn=None):
    """One distillation step on `images`: beta * KD + alpha * CE(targets). Returns the loss tensor (detached).

    KD is `loss_fn(student_logits, teacher_logits)` when given, else the temperature-T KL divergence."""
    student.train()
    with precision.autocast():
        with torch.no_grad():
            t_logits = teacher(images)
        s_logits = student(images)
        kd = loss_fn(s_logits, t_logits) if loss_fn is not None else kd_loss(s_logits, t_logits, T)
        loss = beta * kd
        if targets is not None and alpha > 0:
            loss = loss + alpha * F.cross_entropy(upcast(s_logits), targets)
    precision.backward_step(loss, optimizer)
    return loss.detach()


def kd_epoch(student, teacher, loader, optimizer, device, precision, T=1.0, alpha=0.0, beta=1.0, desc="kd",
             should_stop=None, start=None, log_every=0, log=None):
    """One epoch of distillation over a real (or transfer-set) loader; stops, continues and logs as train_epoch."""
    teacher.eval()
    total = start["sums"]["total"].to(device) if start else torch.zeros((), device=device)
    n = start["sums"]["n"] if start else 0
    stopped = None
    first = start["batch"] if start else 0
    progress = Progress(skip_then_restore(loader, start), len(loader), desc, log_every, log, first)
    for i, (images, targets) in enumerate(progress, start=first):
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        loss = kd_step(student, teacher, images, optimizer, precision, T, targets, alpha, beta)
        total += loss * targets.numel()
        n += targets.numel()
        progress.update(i, loss, targets.numel())
        if should_stop is not None and i + 1 < len(loader) and should_stop():
            stopped = {"batch": i + 1, "sums": {"total": total, "n": n}, "rng": rng_state()}
            break
    return {"loss": (total / max(n, 1)).item(), "stopped": stopped}


def fast_optimizer_kwargs(device):
    """One fused kernel per optimizer step on CUDA; elsewhere one multi-tensor (foreach) update instead of one per
    parameter."""
    return {"fused": True} if device.type == "cuda" else {"foreach": True}


_FUSED_ADAM = {}


def adam_kwargs(device):
    """Adam as one fused kernel per step where this torch has it for the device (CUDA; CPU since torch 2.4): the
    synthesizers' generator steps, whose many small parameter tensors otherwise cost one pass per tensor and op."""
    if device.type not in _FUSED_ADAM:
        try:
            torch.optim.Adam([torch.zeros(1, device=device, requires_grad=True)], fused=True)
            _FUSED_ADAM[device.type] = True
        except (RuntimeError, TypeError, ValueError):
            _FUSED_ADAM[device.type] = False
    return {"fused": True} if _FUSED_ADAM[device.type] else {"foreach": True}


def wrap_ddp(model, device):
    """DistributedDataParallel around `model` when running under torchrun, else the model itself."""
    if not distributed.is_distributed():
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def replan_cosine(scheduler, t_max):
    """A resumed cosine schedule stretched (or shrunk) to `t_max` epochs: the learning rate continues from its
    closed-form value at the current epoch of the new plan instead of restarting the old one's cosine."""
    if not isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) or scheduler.T_max == t_max:
        return
    scheduler.T_max = t_max
    t, eta_min = scheduler.last_epoch, scheduler.eta_min
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = eta_min + (base - eta_min) * (1 + math.cos(math.pi * min(t, t_max) / t_max)) / 2
    scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]


def budget_cosine_lr(optimizer, base_lrs, spent, budget, eta_min=0.0):
    """--time_budget: the learning rate of a run planned in seconds instead of epochs, a cosine from the base rates
    to eta_min over `budget` seconds, at `spent` seconds."""
    progress = min(max(spent / budget, 0.0), 1.0)
    for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
        group["lr"] = eta_min + (base - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def make_scheduler(optimizer, epochs, milestones="", gamma=0.1):
    """Step decay at the comma-separated `milestones` epochs, or cosine annealing over `epochs` when empty."""
    if not milestones:
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    try:
        steps = [int(m) for m in milestones.split(",") if m.strip()]
    except ValueError:
        raise UserError(f"--lr_decay_milestones must be comma-separated integers, got '{milestones}'") from None
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, steps, gamma=gamma)
