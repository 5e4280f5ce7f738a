"""Preemption: SIGTERM (what Slurm sends before it kills a job) and Ctrl-C stop a run at the next step boundary,
after which the entry script saves its mid-epoch state; a second signal stops at once."""
import signal

import torch

from . import distributed
from .errors import Preempted, Terminated

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
        if self.signum is not None:            # asked twice: no more waiting
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()
        self.signum = signum

    def requested(self):
        return distributed.any_rank(self.signum is not None, self.device)

    def preempted(self, where, resume_hint):
        signum = self.signum if self.signum is not None else signal.SIGTERM   # another rank's signal
        return Preempted(EXIT_CODES[signum], f"{NAMES[signum]}: stopped {where} and saved it; {resume_hint}")


def rng_state():
    """This process's torch random state (CPU and CUDA), to continue a seeded run exactly."""
    return {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state):
    torch.set_rng_state(state["cpu"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
