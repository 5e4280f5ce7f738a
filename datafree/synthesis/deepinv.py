"""DeepInversion (Yin et al., CVPR-20): optimise the pixels of each batch directly, no generator."""
import torch

from .base import BestBatch, InversionSynthesizer
from .losses import total_variation


class DeepInvSynthesizer(InversionSynthesizer):
    needs_generator = False

    def __init__(self, teacher, student, g_steps=1000, lr_g=0.1, tv=0.0, l2=0.0, **common):
        super().__init__(teacher, student, **common)
        self.g_steps, self.lr_g, self.tv, self.l2 = g_steps, lr_g, tv, l2

    def synthesize(self):
        self.epoch += 1
        targets = self.random_targets()
        # Pixels live in normalised space (as upstream), so lr_g keeps its meaning.
        v = torch.randn((self.synthesis_batch_size,) + self.img_shape, device=self.device, requires_grad=True)
        optimizer = torch.optim.Adam([v], self.lr_g, betas=(0.5, 0.99))
        best = BestBatch()
        with self.synthesis_mode():
            for _ in range(self.g_steps):
                x = self.normalizer.denormalize(v)
                loss, parts, _, _ = self.inversion_loss(x, targets)
                if self.tv > 0:
                    loss = loss + self.tv * total_variation(x)
                if self.l2 > 0:
                    loss = loss + self.l2 * v.pow(2).mean()
                best.update(loss, x.clamp(0, 1))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():   # keep every pixel a valid image value
                    v.copy_(self.normalizer(self.normalizer.denormalize(v).clamp_(0, 1)))
        self.bn_stats.update_moving()
        self.pool.add(best.x)
        return {"images": best.x, "loss": best.loss, **parts}
