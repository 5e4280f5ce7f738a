"""Fast synthesis without meta learning: one persistent generator, updated directly by the inner loop."""

from engine import distributed

from .base import InversionSynthesizer


class FastSynthesizer(InversionSynthesizer):
    # The reference re-initialises l0 in fast_meta only; `fast` ignores --reset_l0/--reset_bn as it does.
    applies_resets = False
    view_flags = True

    def __init__(self, teacher, student, generator, nz=256, g_steps=2, lr_g=5e-3, lr_z=0.015,
                 reset_l0=0, reset_l0_epoch=120, reset_bn=0, **common):
        super().__init__(teacher, student, **common)
        self.generator = generator.to(self.device).train()
        self.nz, self.g_steps, self.lr_g, self.lr_z = nz, g_steps, lr_g, lr_z
        self.reset_l0, self.reset_l0_epoch, self.reset_bn = reset_l0, reset_l0_epoch, reset_bn
        distributed.broadcast_module_(self.generator)

    def adversarial_active(self):
        return self.adv > 0 and self.epoch >= self.warmup

    # The two steps a meta-learning subclass changes.
    def inner_generator(self):
        return self.generator

    def after_inner_backward(self, inner, step):
        distributed.sum_gradients(list(inner.parameters()))   # every rank's rows: the whole batch's gradient

    def after_inner_loop(self, inner, z):
        pass

    def latent(self):
        """This rank's rows of the call's latent code (a fresh N(0, 1) draw)."""
        return self.randn(self.nz)

    def maybe_reset(self):
        if self.applies_resets and self.epoch == self.reset_l0_epoch + self.warmup:
            if self.reset_l0:
                self.generator.reset_l0()
            if self.reset_bn:
                self.generator.reset_bn()

    def synthesize(self):
        self.epoch += 1
        self.maybe_reset()
        z = self.latent().requires_grad_()
        targets = self.random_targets()
        inner = self.inner_generator()
        optimizer = self.adam([{"params": inner.parameters()}, {"params": [z], "lr": self.lr_z}], self.lr_g)
        kept, parts = self.optimize_batch(lambda: inner(z), optimizer, targets,
                                          lambda step: self.after_inner_backward(inner, step))
        self.after_inner_loop(inner, z)
        self.pool.add(kept.x)
        return {"images": kept.x, "loss": kept.loss, **parts}
