import os

import pytest
import torch

import registry
from engine import checkpoint
from engine.checkpoint import load_weights, save_atomic
from engine.errors import UserError


def test_saved_and_reloaded_model_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = registry.get_model("wrn16_1", num_classes=10, in_channels=3).eval()
    path = str(tmp_path / "m.pth")
    save_atomic({"state_dict": model.state_dict()}, path)
    clone = registry.get_model("wrn16_1", num_classes=10, in_channels=3).eval()
    load_weights(clone, path)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / "last.pth")
    save_atomic({"epoch": 1}, path)

    def crash(obj, f):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["last.pth"]   # no temp file left behind


def test_corrupted_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.pth"
    path.write_bytes(b"\x00not a checkpoint")
    model = registry.get_model("resnet8", num_classes=10)
    with pytest.raises(UserError, match="corrupted"):
        load_weights(model, str(path), what="teacher checkpoint")


def test_missing_checkpoint_names_the_path(tmp_path):
    model = registry.get_model("resnet8", num_classes=10)
    with pytest.raises(UserError, match="teacher checkpoint not found: .*nothing.pth"):
        load_weights(model, str(tmp_path / "nothing.pth"), what="teacher checkpoint")


def test_mismatched_checkpoint_names_the_first_bad_key(tmp_path):
    path = str(tmp_path / "c100.pth")
    save_atomic({"state_dict": registry.get_model("resnet8", num_classes=100).state_dict()}, path)
    with pytest.raises(UserError, match=r"shape mismatch.*fc.weight: file \(100, 64\) vs model \(10, 64\)"):
        load_weights(registry.get_model("resnet8", num_classes=10), path)
    with pytest.raises(UserError, match="missing key"):
        load_weights(registry.get_model("resnet20", num_classes=100), path)


def test_upstream_dataparallel_prefix_is_accepted(tmp_path):
    model = registry.get_model("resnet8", num_classes=10)
    path = str(tmp_path / "dp.pth")
    with torch.no_grad():   # weights a fresh model does not have, so a load that does nothing is caught
        for p in model.parameters():
            p.add_(1.0)
    torch.save({"state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, path)
    clone = registry.get_model("resnet8", num_classes=10)
    load_weights(clone, path)
    loaded, saved = clone.state_dict(), model.state_dict()
    assert loaded.keys() == saved.keys()
    for k in saved:
        assert torch.equal(loaded[k], saved[k]), k
