"""Device selection, mixed precision and seeding."""
import contextlib
import os
import platform
import random
import warnings

import numpy as np
import torch

from .errors import UserError


def select_device(gpu):
    """Return the torch.device for `--gpu` (an int or None), falling back to CPU with a warning."""
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is not None and torch.cuda.is_available():
        gpu = int(local_rank)
    if gpu is None or gpu < 0:
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if not torch.cuda.is_available():
        warnings.warn(f"--gpu {gpu} was given but no CUDA device exists: running on CPU (slow).", stacklevel=2)
        return torch.device("cpu")
    if gpu >= torch.cuda.device_count():
        raise UserError(f"--gpu {gpu} does not exist: this machine has {torch.cuda.device_count()} GPU(s) "
                        f"(ids 0..{torch.cuda.device_count() - 1}).")
    torch.cuda.set_device(gpu)
    return torch.device("cuda", gpu)


def describe_device(device):
    """The machine a run used, as summary.json records it: the GPU's name, or the CPU's model and thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_name()}, {torch.get_num_threads()} threads)"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


class Precision:
    """Autocast context + gradient scaler for `--fp16` (bf16 on CPU, fp16 with scaling on CUDA)."""

    def __init__(self, device, enabled):
        self.device = device
        self.enabled = bool(enabled)
        if device.type == "cuda":
            self.dtype = torch.bfloat16 if (enabled == "bf16") else torch.float16
        else:
            self.dtype = torch.bfloat16
        use_scaler = self.enabled and device.type == "cuda" and self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    @property
    def unscaled_dtype(self):
        """bf16 when enabled and supported, else None: for backward passes that take no loss scaling
        (e.g. gradients summed across inner steps before one optimizer step)."""
        if not self.enabled:
            return None
        if self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return None
        return torch.bfloat16

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward_step(self, loss, optimizer):
        """Backward pass and optimizer step, scaled when fp16 needs it."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def upcast(x):
    """`x` in float32 for reductions and losses (autocast's bf16/fp16 outputs are upcast), float64 kept as is."""
    return x if x.dtype == torch.float64 else x.float()


def seed_everything(seed):
    """Seed python, numpy and torch (all devices). `None` changes nothing."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed, epoch, rank=0):
    """The one seed of an epoch on a rank (every entry script and loader): ranks draw different samples, and a rerun
    of an epoch draws what it drew the first time."""
    return seed + 1009 * epoch + rank


def seed_worker(worker_id):
    """DataLoader worker_init_fn: derive numpy/python seeds from the torch seed of the worker."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)

