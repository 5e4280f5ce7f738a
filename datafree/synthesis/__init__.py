"""Synthesizers by `--method` name. A new method is one module here plus one line in SYNTHESIZERS."""
from .fast import FastSynthesizer
from .fast_meta import FastMetaSynthesizer
from .generator import Generator
from .noise import NoiseSynthesizer

SYNTHESIZERS = {
    "fast": FastSynthesizer,
    "fast_meta": FastMetaSynthesizer,
    "noise": NoiseSynthesizer,
}
