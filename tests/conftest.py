"""Shared fixtures: small generated data and tiny models, so tests need no network and little time."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(min(2, torch.get_num_threads()))

import registry  # noqa: E402
from helpers import make_blobs  # noqa: E402


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
    torch.manual_seed(0)
    model = registry.get_model("resnet8", num_classes=10, in_channels=1)
    data = make_blobs(256, seed=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for _ in range(3):
        for i in range(0, 256, 64):
            x, y = data.tensors[0][i:i + 64], data.tensors[1][i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    path = tmp_path / "fmnist_resnet8.pth"
    torch.save({"state_dict": model.state_dict()}, path)
    return str(path)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (benchmarks/gpu_suite.sh --step tests runs them)")
