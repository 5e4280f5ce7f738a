"""Control: distill on Gaussian noise (normalised space). A data-free method must clearly beat it."""
from engine.global_batch import Rows

from .base import Synthesizer


class NoiseSynthesizer(Synthesizer):
    needs_generator = False

    def synthesize(self):
        self.epoch += 1
        return {"images": self.normalizer.denormalize(self.sample()[:64]).clamp(0, 1)}

    def sample(self):
        return self.randn(*self.img_shape, rows=Rows(self.batch_size))
