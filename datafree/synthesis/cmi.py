"""CMI, Contrastive Model Inversion (Fang et al., IJCAI-21), as in the reference code (zju-vipa/CMI).

Per batch a freshly initialised generator is optimised with the inversion loss on a global view (crop + flip)
plus a contrastive term: the teacher's instance features (per-channel means of the inputs of every BatchNorm2d,
or of given blocks) of a local view (random resized crop + flip) must identify the global view of the same
sample among the current batch and a memory bank of earlier samples' features."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine import distributed
from engine.device import upcast
from engine.global_batch import report

from .augment import random_resized_crop_flip
from .base import BestBatch, InversionSynthesizer
from .hooks import FeatureHooks
from .losses import contrastive_loss


class ProjectionHead(nn.Module):
    """Linear -> ReLU -> Linear, output L2-normalised."""

    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(inplace=True), nn.Linear(dim_in, dim_out))

    def forward(self, x):
        return F.normalize(self.head(x), dim=1)


class FeatureBank:
    """Ring buffer of (local, global) instance features of the kept batches; draws up to n rows without
    replacement from the filled part."""

    def __init__(self, size, dim, device):
        self.data = torch.zeros(size, dim, device=device)
        self.size, self.ptr, self.count = size, 0, 0

    def add(self, f):
        n = len(f)
        idx = (self.ptr + torch.arange(n, device=self.data.device)) % self.size
        self.data[idx] = f.detach().to(self.data)
        self.ptr, self.count = (self.ptr + n) % self.size, self.count + n

    def filled(self):
        # The reference tests count > size: right after the bank first fills up it draws no rows. Fixed here.
        return self.size if self.count >= self.size else self.ptr

    def sample(self, n):
        idx = torch.randperm(self.filled(), device=self.data.device)[:n]
        return self.data[idx]

    def state_dict(self):
        return {"data": self.data[:self.filled()].cpu(), "ptr": self.ptr, "count": self.count}

    def load_state_dict(self, state):
        self.data.zero_()
        self.data[:len(state["data"])] = state["data"].to(self.data.device)
        self.ptr, self.count = state["ptr"], state["count"]


class CMISynthesizer(InversionSynthesizer):
    def __init__(self, teacher, student, generator, nz=256, g_steps=200, lr_g=1e-3, cr=0.8, cr_T=0.2,
                 bank_size=40960, n_neg=4096, head_dim=256, feature_layers=None, **common):
        super().__init__(teacher, student, **common)
        self.generator = generator.to(self.device).train()
        self.nz, self.g_steps, self.lr_g, self.cr, self.cr_T, self.n_neg = nz, g_steps, lr_g, cr, cr_T, n_neg
        layers = feature_layers or [m for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
        self.features = FeatureHooks(layers, inputs=True)
        dim = self._instance_features_dim()
        self.bank = FeatureBank(bank_size, 2 * dim, self.device)
        self.head = ProjectionHead(dim, head_dim).to(self.device)
        self.head_optimizer = self.adam(self.head.parameters(), lr_g, betas=(0.9, 0.999))
        self.local_view = random_resized_crop_flip

    def _instance_features_dim(self):
        with torch.no_grad(), self.features.attached():
            self.teacher.eval()(torch.zeros((2,) + self.img_shape, device=self.device))
        return sum(f.shape[1] for f in self.features.features)

    def instance_features(self):
        """Per-sample channel means of every hooked input, concatenated."""
        return torch.cat([upcast(f).mean(dim=(2, 3)) for f in self.features.features], dim=1)

    def views(self, x):
        """(global view, local view), both normalised."""
        return self.augment(x, self.rows), self.normalizer(self.local_view(x, rows=self.rows))

    def step_loss(self, x, targets):
        """One step's loss on generator output x. Returns (loss, parts, (local, global) features)."""
        global_view, local_view = self.views(x)
        with self.features.attached():
            loss, parts, _ = self.inversion_loss(global_view, targets)
            global_f = self.instance_features()
            if self.cr <= 0:
                return loss, parts, None
            with self.autocast():
                self.teacher(local_view)
            local_f = self.instance_features()
        cached_local, cached_global = self.bank.sample(self.n_neg).chunk(2, dim=1)
        # every rank's global views are the candidates (targets only: no gradient flows through them)
        all_global_f = distributed.all_gather_cat(global_f.detach()) if self.rows.sharded else global_f
        proj = self.head(torch.cat([local_f, cached_local, all_global_f, cached_global]))
        proj_local, proj_global = proj.split([len(local_f) + len(cached_local), len(all_global_f) + len(cached_global)])
        loss_cr = contrastive_loss(proj_local, proj_global, self.rows, self.cr_T)
        parts["loss_cr"] = loss_cr.detach()
        return loss + self.cr * loss_cr, parts, torch.cat([local_f, global_f], dim=1).detach()

    def synthesize(self):
        self.epoch += 1
        z = self.randn(self.nz).requires_grad_()
        targets = self.random_targets(sort=True)
        self.generator.reinitialize()   # a fresh generator for every batch
        optimizer = self.adam([{"params": self.generator.parameters()}, {"params": [z]}], self.lr_g)
        best, best_features = BestBatch(), BestBatch()
        with self.synthesis_mode():
            for _ in range(self.g_steps):
                x = self.generator(z)
                loss, parts, feats = self.step_loss(x, targets)
                parts = report({"loss": loss, **parts})
                total = parts.pop("loss")
                if feats is not None:
                    best_features.update(total, feats)
                best.update(total, x)
                optimizer.zero_grad(set_to_none=True)
                self.head_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                distributed.sum_gradients(list(self.generator.parameters()) + list(self.head.parameters()))
                optimizer.step()
                self.head_optimizer.step()
        if best_features.x is not None:   # every rank's rows, in batch order
            self.bank.add(distributed.all_gather_cat(best_features.x))
        self.bn_stats.update_moving()
        self.pool.add(best.x)
        return {"images": best.x, "loss": best.loss, **parts}

    def state_dict(self):
        return {**super().state_dict(), "head": self.head.state_dict(),
                "head_optimizer": self.head_optimizer.state_dict(), "bank": self.bank.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.head.load_state_dict(state["head"])
        self.head_optimizer.load_state_dict(state["head_optimizer"])
        self.bank.load_state_dict(state["bank"])
