"""ZSKT (Micaelli & Storkey, NeurIPS-19): the generator maximises the teacher-student KL divergence."""
from .losses import divergence_adversarial_loss
from .online import OnlineGeneratorSynthesizer


class ZSKTSynthesizer(OnlineGeneratorSynthesizer):
    adversarial = staticmethod(divergence_adversarial_loss)
    default_weights = {"adv": 1.0}
