"""NAYER (Tran et al., CVPR-24): a label-conditioned generator with a re-initialised noisy layer.

Per synthesis call: every `g_life` calls the whole generator is rebuilt; then `gwp_loops` (during warm-up) or
`g_loops` loops, each re-drawing the noisy layers, with class-balanced targets and a fresh Adam, runs g_steps
steps of bn * L_bn + oh * CE + adv * L_adv (on after warm-up) and adds its lowest-loss batch to the pool."""
import torch

from engine import distributed

from .augment import Augment, jitter_flip
from .base import InversionSynthesizer


class NayerSynthesizer(InversionSynthesizer):
    label_conditioned = True   # the entry script builds a NoisyLayerGenerator on --label_emb
    # The reference parser's defaults where they differ from the shared ones (its scripts rely on them).
    flag_defaults = {"T": 20.0, "bn_mmt": 0.9}
    view_flags = True

    def __init__(self, teacher, student, generator, g_steps=40, lr_g=4e-3, g_life=10, g_loops=2, gwp_loops=10,
                 **common):
        super().__init__(teacher, student, **common)
        self.generator = generator.to(self.device).train()
        self.g_steps, self.lr_g = g_steps, lr_g
        self.g_life, self.g_loops, self.gwp_loops = g_life, g_loops, gwp_loops
        # The reference's synthesis view: crop + flip, but no flip for Tiny-ImageNet and ImageNet; at 224 px
        # DeepInversion's roll + flip first (the jittered batch is also what enters the pool). KD batches keep the
        # shared crop + flip (its dataset's training transform).
        if self.synthesis_augment is None:
            self.synthesis_augment = Augment(self.normalizer, flip=self.img_shape[-1] < 64)
        self.jitter = jitter_flip if self.img_shape[-1] > 64 else None
        distributed.broadcast_module_(self.generator)

    def adversarial_active(self):   # `ep > warmup` after the reference's increment: from call `warmup` on
        return self.adv > 0 and self.epoch > self.warmup

    def balanced_targets(self):
        """Every class once per block of C rows (0..C-1 repeated), the remainder uniform at random at the end
        (this rank's rows of them)."""
        n, c = self.synthesis_batch_size, self.num_classes
        rest = torch.randint(c, (n % c,), device=self.device)
        return self.rows.take(torch.cat([torch.arange(c, device=self.device).repeat(n // c), rest]))

    def generate(self, targets):
        x = self.generator(targets, first_row=self.rows.start)
        return self.jitter(x) if self.jitter else x

    def synthesize(self):
        if (self.epoch - self.warmup) % self.g_life == 0 or self.epoch % self.g_life == 0:
            self.generator.reinit()
        loops = self.gwp_loops if self.epoch < self.warmup else self.g_loops
        self.epoch += 1
        params = list(self.generator.parameters())
        for loop in range(loops):
            self.generator.reset_noisy_layers()
            targets = self.balanced_targets()
            optimizer = self.adam(params, self.lr_g)
            # The reference sets the student to train mode at the end of each loop (eval only before the first):
            # from the second loop on, its adversarial term sees batch statistics (and updates the running ones).
            best, parts = self.optimize_batch(lambda t=targets: self.generate(t), optimizer, targets,
                                              lambda step: distributed.sum_gradients(params),
                                              student_train=loop > 0)
            self.pool.add(best.x)
        return {"images": best.x, "loss": best.loss, **parts}
