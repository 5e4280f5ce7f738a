"""Forward hooks on the teacher: BatchNorm statistics (with momentum) and intermediate features."""
import contextlib

import torch
import torch.nn as nn

from engine.device import upcast
from engine.global_batch import mean_var, stat_share


class BNStatHook:
    """For one BatchNorm2d: distance between the batch statistics of its input (over every rank's rows under
    torchrun) and its running statistics.

    With momentum `mmt` > 0 the batch statistics are blended with a moving estimate of earlier batches:
    compared value = (1 - mmt) * current + mmt * moving.
    """

    def __init__(self, module, mmt=0.0):
        self.module, self.mmt = module, mmt
        self.moving = None      # (mean, var) estimate over earlier synthesis batches
        self.current = None     # (mean, var) of the last batch
        self.loss = None
        self.handle = None

    def __call__(self, module, inputs, output):
        mean, var, _ = mean_var(upcast(inputs[0]), (0, 2, 3))
        self.current = (mean, var)
        if self.mmt > 0 and self.moving is not None:
            mean = (1 - self.mmt) * mean + self.mmt * self.moving[0]
            var = (1 - self.mmt) * var + self.mmt * self.moving[1]
        self.loss = torch.norm(mean - module.running_mean, 2) + torch.norm(var - module.running_var, 2)

    def update_moving(self):
        mean, var = (t.detach() for t in self.current)
        if self.moving is None:
            self.moving = (mean, var)
        else:
            m = self.mmt
            self.moving = (m * self.moving[0] + (1 - m) * mean, m * self.moving[1] + (1 - m) * var)


class BNStatistics:
    """All BatchNorm2d layers of a model. Hooks exist only inside `attached()` (synthesis), never during KD."""

    def __init__(self, model, mmt=0.0):
        self.hooks = [BNStatHook(m, mmt) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if not self.hooks:
            raise ValueError("the teacher has no BatchNorm2d layer: BN-statistic synthesis needs one")
        self.mmt = mmt

    @contextlib.contextmanager
    def attached(self):
        handles = [h.module.register_forward_hook(h) for h in self.hooks]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def loss(self):
        """The BN-statistic loss of the last forward pass (under torchrun: this rank's share, engine.global_batch)."""
        return stat_share(sum(h.loss for h in self.hooks))

    def update_moving(self):
        if self.mmt > 0:
            for h in self.hooks:
                h.update_moving()

    def state_dict(self):
        return {"moving": [h.moving for h in self.hooks]}

    def load_state_dict(self, state):
        for h, moving in zip(self.hooks, state["moving"], strict=True):
            h.moving = moving


class FeatureHooks:
    """Records the outputs (or, with `inputs=True`, the first inputs) of `modules` inside `attached()`."""

    def __init__(self, modules, inputs=False):
        self.modules = list(modules)
        self.inputs = inputs
        self.features = [None] * len(self.modules)

    @contextlib.contextmanager
    def attached(self):
        def make(i):
            def hook(module, inputs, output):
                self.features[i] = inputs[0] if self.inputs else output
            return hook
        handles = [m.register_forward_hook(make(i)) for i, m in enumerate(self.modules)]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()
