"""Shared fixtures: small generated data and tiny models, so tests need no network and little time."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(min(2, torch.get_num_threads()))

import registry  # noqa: E402
from helpers import make_blobs, tiny_teacher_checkpoint  # noqa: E402


@pytest.fixture
def tiny_data(monkeypatch):
    """Replace the registry's datasets with generated 1x32x32, 4-class data reported as 'fmnist' (10 classes)."""
    train, val = make_blobs(1024, seed=0), make_blobs(128, seed=1)

    def fake_get_dataset(name, data_root="data", in_memory=False):
        return 10, train, val

    monkeypatch.setattr(registry, "get_dataset", fake_get_dataset)
    return train, val


@pytest.fixture
def tiny_teacher(tmp_path):
    """A resnet8 teacher (1 channel, 10 classes) briefly trained on generated data, saved as a checkpoint."""
    return tiny_teacher_checkpoint(tmp_path / "fmnist_resnet8.pth")


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (benchmarks/gpu_suite.sh --step tests runs them)")
