import os

import pytest
import torch

import registry

HAVE_FMNIST = os.path.isfile(os.path.join(registry.DEBIAN_FMNIST, "train-images-idx3-ubyte.gz"))
# CI installs the Debian package, so there the test must run, never skip.
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST and not os.environ.get("CI"),
                                  reason="dataset-fashion-mnist is not installed")


@needs_fmnist
def test_fmnist_loads_from_debian_files(tmp_path):
    num_classes, train, val = registry.get_dataset("fmnist", data_root=str(tmp_path))  # empty root: no copy there
    assert num_classes == 10
    assert len(train) == 60000 and len(val) == 10000
    # The first labels of the official files (ankle boot, T-shirt, T-shirt, dress, ...).
    assert train.targets[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert val.targets[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert torch.bincount(train.targets).tolist() == [6000] * 10
    assert torch.bincount(val.targets).tolist() == [1000] * 10
    x, y = val[0]
    assert x.shape == (1, 32, 32) and y == 9
    # Padding is the normalised value of black; the 28x28 centre holds the image.
    black = (0 - 0.2860) / 0.3530
    assert torch.allclose(x[:, :2, :], torch.full_like(x[:, :2, :], black))
    assert x[:, 2:30, 2:30].max() > 2.0


def test_missing_fmnist_without_network_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "DEBIAN_FMNIST", str(tmp_path / "absent"))

    def no_network(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(registry.datasets, "FashionMNIST", no_network)
    with pytest.raises(registry.UserError, match="'fmnist' is not under .* could not be downloaded"):
        registry.get_dataset("fmnist", data_root=str(tmp_path))
