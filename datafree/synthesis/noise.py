"""Control: distill on Gaussian noise (normalised space). A data-free method must clearly beat it."""
import torch

from .base import Synthesizer


class NoiseSynthesizer(Synthesizer):
    needs_generator = False

    def synthesize(self):
        self.epoch += 1
        return {"images": self.normalizer.denormalize(self.sample()[:64]).clamp(0, 1)}

    def sample(self):
        return torch.randn((self.sample_batch_size,) + self.img_shape, device=self.device)
