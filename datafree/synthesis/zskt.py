"""ZSKT (Micaelli & Storkey, NeurIPS-19): the generator maximises the teacher-student KL divergence."""
from .online import OnlineGeneratorSynthesizer


class ZSKTSynthesizer(OnlineGeneratorSynthesizer):
    reference_flags = "--adv 1"
