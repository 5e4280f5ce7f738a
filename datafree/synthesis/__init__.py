"""Synthesizers by `--method` name. A new method is one module here plus one line in SYNTHESIZERS."""
from .cmi import CMISynthesizer
from .dafl import DAFLSynthesizer
from .deepinv import DeepInvSynthesizer
from .dfad import DFADSynthesizer
from .dfq import DFQSynthesizer
from .fast import FastSynthesizer
from .fast_meta import FastMetaSynthesizer
from .fast_meta_imagenet import FastMetaImageNetSynthesizer
from .generator import Generator as Generator  # re-exported: benchmarks import it from here
from .nayer import NayerSynthesizer
from .noise import NoiseSynthesizer
from .zskt import ZSKTSynthesizer

SYNTHESIZERS = {
    "fast_meta": FastMetaSynthesizer,   # the paper's method
    "fast_meta_imagenet": FastMetaImageNetSynthesizer,   # ... as upstream's ImageNet script runs it
    "fast": FastSynthesizer,
    "deepinv": DeepInvSynthesizer,
    "cmi": CMISynthesizer,
    "dafl": DAFLSynthesizer,
    "zskt": ZSKTSynthesizer,
    "dfq": DFQSynthesizer,
    "dfad": DFADSynthesizer,
    "nayer": NayerSynthesizer,          # NAYER (CVPR-24), after the paper
    "noise": NoiseSynthesizer,          # control: Gaussian noise instead of synthesis
}
