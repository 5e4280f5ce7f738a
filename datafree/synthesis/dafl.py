"""DAFL (Chen et al., ICCV-19): one-hot + activation + class-balance terms; no adversarial term."""
from .online import OnlineGeneratorSynthesizer


class DAFLSynthesizer(OnlineGeneratorSynthesizer):
    default_nz = 512
    default_weights = {"oh": 1.0, "act": 0.1, "balance": 5.0}
