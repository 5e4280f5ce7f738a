"""CMI, Contrastive Model Inversion (Fang et al., IJCAI-21): model inversion with a per-batch generator plus a
contrastive term that pushes each new sample away from the teacher features of earlier ones."""
import torch
import torch.nn as nn

from .base import BestBatch, InversionSynthesizer
from .hooks import FeatureHooks
from .losses import contrastive_loss
from .pool import load_image_folder


class FeatureBank:
    """FIFO memory of instance features of earlier synthetic samples."""

    def __init__(self, size):
        self.size, self.features = size, None

    def add(self, f):
        f = f.detach()
        self.features = f if self.features is None else torch.cat([f, self.features])[:self.size]

    def sample(self, n):
        if self.features is None:
            return None
        idx = torch.randperm(len(self.features), device=self.features.device)[:n]
        return self.features[idx]


class CMISynthesizer(InversionSynthesizer):
    def __init__(self, teacher, student, generator, nz=256, g_steps=200, lr_g=1e-3, cr=0.8, cr_T=0.2, cmi_init=None,
                 bank_size=40960, n_neg=4096, head_dim=256, feature_layers=None, **common):
        super().__init__(teacher, student, **common)
        self.generator = generator.to(self.device).train()
        self.nz, self.g_steps, self.lr_g, self.cr, self.cr_T, self.n_neg = nz, g_steps, lr_g, cr, cr_T, n_neg
        layers = feature_layers or [m for m in teacher.modules() if isinstance(m, nn.Conv2d)]
        self.features = FeatureHooks(layers)
        self.bank = FeatureBank(bank_size)
        dim = self._instance_features_dim()
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, head_dim)).to(self.device)
        self.head_optimizer = torch.optim.Adam(self.head.parameters(), lr_g, betas=(0.5, 0.999))
        if cmi_init:
            self.pool.add(load_image_folder(cmi_init, self.img_shape).to(self.device))

    def _instance_features_dim(self):
        with torch.no_grad(), self.features.attached():
            self.teacher.eval()(torch.zeros((2,) + self.img_shape, device=self.device))
        return sum(f.shape[1] for f in self.features.features)

    def instance_features(self):
        """Per-sample channel means of every hooked layer, concatenated."""
        return torch.cat([f.float().mean(dim=(2, 3)) for f in self.features.features], dim=1)

    def teacher_features(self, x_aug):
        with self.autocast(), self.features.attached():
            self.teacher(x_aug)
        return self.instance_features()

    def synthesize(self):
        self.epoch += 1
        for m in self.generator.modules():   # a fresh generator for every batch
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        z = torch.randn(self.synthesis_batch_size, self.nz, device=self.device, requires_grad=True)
        targets = self.random_targets()
        optimizer = torch.optim.Adam([{"params": self.generator.parameters()}, {"params": [z]}], self.lr_g,
                                     betas=(0.5, 0.999))
        best = BestBatch()
        with self.synthesis_mode():
            for _ in range(self.g_steps):
                x = self.generator(z)
                with self.features.attached():
                    loss, parts, _, _ = self.inversion_loss(x, targets)
                anchor = self.instance_features()
                positive = self.teacher_features(self.augment(x))
                negatives = self.bank.sample(self.n_neg)
                loss_cr = contrastive_loss(self.head(anchor), self.head(positive),
                                           None if negatives is None else self.head(negatives), self.cr_T)
                loss = loss + self.cr * loss_cr
                parts["loss_cr"] = loss_cr.detach()
                best.update(loss, x)
                optimizer.zero_grad(set_to_none=True)
                self.head_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self.head_optimizer.step()
            with torch.no_grad():
                self.bank.add(self.teacher_features(self.normalizer(best.x)))
        self.bn_stats.update_moving()
        self.pool.add(best.x)
        return {"images": best.x, "loss": best.loss, **parts}

    def state_dict(self):
        return {**super().state_dict(), "generator": self.generator.state_dict(), "head": self.head.state_dict(),
                "head_optimizer": self.head_optimizer.state_dict(),
                "bank": None if self.bank.features is None else self.bank.features.cpu()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.generator.load_state_dict(state["generator"])
        self.head.load_state_dict(state["head"])
        self.head_optimizer.load_state_dict(state["head_optimizer"])
        self.bank.features = None if state["bank"] is None else state["bank"].to(self.device)
