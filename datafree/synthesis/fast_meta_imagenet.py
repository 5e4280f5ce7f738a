"""Upstream's ImageNet variant of fast meta synthesis (its fast_meta_imagenet.py): a latent code kept across calls.

What differs from `fast_meta`, each as upstream's ImageNet synthesizer does it:
- the latent code is a spatial tensor (synthesis batch x nz x s/16 x s/16, the input of SpatialDeepGenerator's conv
  stem), drawn once and re-drawn every --reinit calls, when the meta optimizer starts afresh too;
- each call's inner steps start from the code the previous call ended with: upstream's inner code is
  `self.z.detach()`, which shares its storage, so the inner Adam moves the kept code itself and the code's Reptile
  gradient is then exactly 0 (its meta learning rate, --lr_z_meta, has no effect there, nor here);
- the generator's meta step is Reptile at --lr_g_meta; the generator is not reset (--reset_l0/--reset_bn are ignored
  there too); `flag_defaults` are its other settings.
Its first-order MAML path (`--is_maml 1`) cannot run upstream: the meta step reads the gradient of every generator
parameter, and its DeepGenerator's unused Linear stem has none (AttributeError); it is refused here."""
import torch

from engine import distributed
from engine.errors import UserError

from .fast_meta import FastMetaSynthesizer


class FastMetaImageNetSynthesizer(FastMetaSynthesizer):
    spatial_latent = True    # the entry script builds a SpatialDeepGenerator
    applies_resets = False
    # Upstream's: Reptile without a scale, the pool gets the last step's batch, synthesis views its batches through
    # RandomResizedCrop(scale 0.75-1) + flip and KD trains on RandomResizedCrop (0.08-1) + flip, the KD learning
    # rate anneals to 0 (datafree_kd_imagenet.py: CosineAnnealingLR(T_max=epochs)).
    flag_defaults = {"is_maml": 0, "reptile_scale": 1.0, "pool_batch": "last", "synthesis_aug": "resized_crop",
                     "kd_aug": "resized_crop", "eta_min": 0.0}

    def __init__(self, teacher, student, generator, lr_g_meta=1e-4, reinit=0, **kwargs):
        super().__init__(teacher, student, generator, **kwargs)
        if self.is_maml:
            raise ValueError("fast_meta_imagenet runs Reptile only (is_maml=0)")
        self.lr_g_meta, self.reinit = lr_g_meta, reinit
        self.new_latent()

    @staticmethod
    def check_flags(args):
        """Called by the entry script before the run starts."""
        if args.is_maml:
            raise UserError("--method fast_meta_imagenet --is_maml 1: upstream's ImageNet synthesizer has no working "
                            "first-order MAML (it fails on its generator's unused layer); use --is_maml 0 (Reptile, "
                            "its scripts' setting) or --method fast_meta")

    def new_latent(self):
        """A fresh code for the whole synthesis batch (the same on every rank) and a fresh meta optimizer."""
        self.z = torch.randn(self.synthesis_batch_size, *self.generator.latent_shape, device=self.device)
        self.meta_optimizer = self.adam(self.meta_params, self.lr_g_meta)

    def maybe_reset(self):
        if self.reinit and self.epoch % self.reinit == 0:
            self.new_latent()

    def latent(self):
        return self.rows.take(self.z).clone()

    def after_inner_loop(self, inner, z):
        self.z = distributed.all_gather_cat(z.detach())   # every rank's rows, in batch order: the whole code
        super().after_inner_loop(inner, z)                 # Reptile on the generator (is_maml is 0)

    def state_dict(self):
        return {**super().state_dict(), "z": self.z.clone()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.z = state["z"].to(self.device, self.z.dtype)
