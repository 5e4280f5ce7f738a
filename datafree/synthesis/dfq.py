"""DFQ (Choi et al., CVPRW-20): adversarial KL + BN statistics + one-hot + class balance."""
from .losses import divergence_adversarial_loss
from .online import OnlineGeneratorSynthesizer


class DFQSynthesizer(OnlineGeneratorSynthesizer):
    adversarial = staticmethod(divergence_adversarial_loss)
    default_weights = {"adv": 1.0, "bn": 1.0, "oh": 1.0, "balance": 1.0}
