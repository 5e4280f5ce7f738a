"""DFQ (Choi et al., CVPRW-20): adversarial KL + BN statistics + one-hot + class balance."""
from .online import OnlineGeneratorSynthesizer


class DFQSynthesizer(OnlineGeneratorSynthesizer):
    reference_flags = "--adv 1 --bn 1 --oh 1 --balance 20"
