"""DFAD (Fang et al., 2019): adversarial distillation with the mean absolute error between logits,
for the generator (maximised) and the student (minimised)."""
from .losses import l1_adversarial_loss, l1_logits
from .online import OnlineGeneratorSynthesizer


class DFADSynthesizer(OnlineGeneratorSynthesizer):
    adversarial = staticmethod(l1_adversarial_loss)
    student_loss = staticmethod(l1_logits)
    reference_flags = "--adv 1"
