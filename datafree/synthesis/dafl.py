"""DAFL (Chen et al., ICCV-19): one-hot + activation + class-balance terms; no adversarial term."""
from .online import OnlineGeneratorSynthesizer


class DAFLSynthesizer(OnlineGeneratorSynthesizer):
    default_nz = 512
    reference_flags = "--oh 1 --act 0.001 --balance 20"
