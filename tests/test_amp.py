"""Mixed precision: --fp16 means bf16 autocast on CPU, for the KD steps and the (meta-)gradient synthesis."""
import json

import pytest
import torch

import datafree_kd
from engine.device import Precision


def test_unscaled_dtype_is_bf16_on_cpu_only_when_enabled():
    assert Precision(torch.device("cpu"), True).unscaled_dtype == torch.bfloat16
    assert Precision(torch.device("cpu"), False).unscaled_dtype is None


@pytest.mark.parametrize("method", ["fast_meta", "nayer"])
def test_fp16_and_channels_last_on_cpu_run_an_epoch(method, tiny_data, tiny_teacher, tmp_path):
    held = {}
    flags = ["--method", method, "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
             "--teacher_ckpt", tiny_teacher, "--epochs", "1", "--batch_size", "16", "--synthesis_batch_size", "8",
             "--kd_steps", "2", "--ep_steps", "2", "--g_steps", "2", "--ngf", "8", "--lr", "0.05", "--lr_g", "1e-3",
             "--lr_z", "0.01", "--bn", "1", "--oh", "0.5", "--adv", "0.5", "--bn_mmt", "0.9", "--T", "20",
             "-j", "0", "--seed", "0", "--fp16", "--channels_last", "--save_dir", str(tmp_path)]

    def remember(synth):
        held["synth"] = synth
        held["generator"] = [p.detach().clone() for p in synth.generator.parameters()]

    datafree_kd.main(flags, synthesizer_hook=remember)
    synth = held["synth"]
    assert synth.autocast_dtype == torch.bfloat16
    after = list(synth.generator.parameters())
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in after)
    assert any(not torch.equal(b, p) for b, p in zip(held["generator"], after, strict=True))   # the meta step was taken
    assert all(torch.isfinite(p).all() for p in synth.student.parameters())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["epochs_done"] == 1 and summary["kd_seconds"] > 0
