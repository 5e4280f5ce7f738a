"""Preemption: SIGTERM (what Slurm sends before it kills a job) and Ctrl-C stop a run at the next step boundary,
after which the entry script saves its mid-epoch state; a second Ctrl-C stops at once. Repeated SIGTERMs are one
request: under Slurm the scheduler, srun and torchrun each pass one on (the scheduler's SIGKILL ends a wait)."""
import random
import signal

import numpy as np
import torch

from . import distributed
from .errors import Preempted, UserError

EXIT_CODES = {signal.SIGTERM: 143, signal.SIGINT: 130}
NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "Ctrl-C"}


class GracefulStop:
    """`with GracefulStop(device) as stop:` the first SIGTERM/SIGINT sets `stop.signum`; `stop.requested()`
    (checked at step boundaries, the same answer on every rank) says when to save and leave."""

    def __init__(self, device):
        self.device, self.signum, self.previous = device, None, {}

    def __enter__(self):
        for sig in EXIT_CODES:
            self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False

    def _handler(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:   # Ctrl-C twice: no more waiting
            raise KeyboardInterrupt
        self.signum = self.signum or signum

    def requested(self):
        return distributed.any_rank(self.signum is not None, self.device)

    def preempted(self, where, resume_hint):
        signum = self.signum if self.signum is not None else signal.SIGTERM   # another rank's signal
        return Preempted(EXIT_CODES[signum], f"{NAMES[signum]}: stopped {where} and saved it; {resume_hint}")


def rng_state():
    """This process's random state (torch CPU and CUDA, python, numpy) in types a weights_only checkpoint holds, to
    continue a seeded run exactly."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                   gauss]}


def set_rng_state(state):
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))


def skip_then_restore(loader, start):
    """Iterate `loader` from batch start["batch"] on: the batches before it are read and dropped (so the loader,
    its workers and augmentation draw what they drew the first time), then the random state saved at the stop is
    put back. `start` None: the whole loader."""
    for i, batch in enumerate(loader):
        if start is not None and i < start["batch"]:
            continue
        if start is not None and i == start["batch"]:
            set_rng_state(start["rng"])
        yield batch


def stop_with_state(stop, position, save, is_main, where, resume_hint):
    """Save a stopped epoch (`position`: where to continue, with this rank's random state under "rng") and leave:
    every rank's random state is gathered, the main rank calls `save(mid_epoch)`, then Preempted is raised.
    `position` None (the epoch ran to its end): nothing happens."""
    if position is None:
        return
    mid_epoch = {"position": {k: v for k, v in position.items() if k != "rng"},
                 "rng": distributed.gather_objects(position["rng"])}
    if is_main:
        save(mid_epoch)
    distributed.barrier()
    raise stop.preempted(where, resume_hint)


def continue_from(mid_epoch, rank, world_size, path):
    """The `start` of a stopped epoch for this rank (None when the checkpoint ended on an epoch boundary)."""
    if not mid_epoch:
        return None
    if len(mid_epoch["rng"]) != world_size:
        raise UserError(f"--resume {path} stopped mid-epoch with {len(mid_epoch['rng'])} processes: resume it with "
                        f"the same number (now {world_size})")
    return {**mid_epoch["position"], "rng": mid_epoch["rng"][rank]}
