"""DeepInversion (Yin et al., CVPR-20) as in the reference code: optimise the pixels of each batch directly.

The pixels live in normalised space; each step the whole batch is rolled and maybe flipped (`jitter_flip`);
L = bn * (L_bn(teacher) - 0.001 * L_bn(student)) + oh * CE + adv * (-JS at T=3) + tv * TV + l2 * ||v||_2."""
import torch

from engine import distributed
from engine.global_batch import all_sum, report, stat_share

from .augment import jitter_flip
from .base import BestBatch, InversionSynthesizer
from .losses import js_adversarial_loss, total_variation


def vector_norm(v):
    """||v||_2 of the whole batch (every rank's rows)."""
    if not distributed.is_distributed():
        return torch.linalg.vector_norm(v)
    return all_sum(v.pow(2).sum()).sqrt()


class DeepInvSynthesizer(InversionSynthesizer):
    needs_generator = False
    adversarial = staticmethod(js_adversarial_loss)
    student_bn_weight = 0.001

    def __init__(self, teacher, student, g_steps=1000, lr_g=0.1, tv=0.0, l2=0.0, **common):
        super().__init__(teacher, student, **common)
        self.g_steps, self.lr_g, self.tv, self.l2 = g_steps, lr_g, tv, l2
        self.jitter = jitter_flip

    def step_loss(self, v, targets):
        """The loss of one step on normalised pixels v (the reference's objective), with its parts."""
        loss, parts, _ = self.inversion_loss(self.jitter(v), targets)
        if self.tv > 0:
            parts["loss_tv"] = self.rows.mean_share(total_variation(v))
            loss = loss + self.tv * parts["loss_tv"]
        if self.l2 > 0:
            parts["loss_l2"] = stat_share(vector_norm(v))
            loss = loss + self.l2 * parts["loss_l2"]
        return loss, {k: t.detach() for k, t in parts.items()}

    def synthesize(self):
        self.epoch += 1
        v = self.randn(*self.img_shape).requires_grad_()
        targets = self.random_targets(sort=True)
        optimizer = self.adam([v], self.lr_g, betas=(0.5, 0.99))
        # The lowest-loss batch is kept for real (the reference keeps a view of v, i.e. the last batch).
        best = BestBatch()
        with self.synthesis_mode():
            for _ in range(self.g_steps):
                loss, parts = self.step_loss(v, targets)
                parts = report({"loss": loss, **parts})
                best.update(parts.pop("loss"), v)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():   # keep every pixel a valid image value
                    v.copy_(self.normalizer(self.normalizer.denormalize(v).clamp_(0, 1)))
        self.bn_stats.update_moving()
        images = self.normalizer.denormalize(best.x).clamp(0, 1)
        self.pool.add(images)
        return {"images": images, "loss": best.loss, **parts}
