"""The GPU path: device placement of every synthesizer, pool and augmentation; AMP (fp16 with loss scaling, bf16);
channels_last; resume on CUDA equal to an uninterrupted run with deterministic algorithms; the ImageNet generator at
224 px. Run by `bash benchmarks/gpu_suite.sh --step tests`; skipped (with the reason) on a machine without CUDA."""
import json
import os
import signal

import pytest
import torch

import datafree_kd
from datafree.synthesis import SYNTHESIZERS
from datafree.synthesis.augment import Augment, Normalizer
from datafree.synthesis.generator import DeepGenerator, Generator, LargeGenerator, NoisyLayerGenerator
from datafree.synthesis.pool import ImagePool

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is visible here")]
CUDA = torch.device("cuda")


def flags(save_dir, teacher, extra=()):
    return ["--method", "fast_meta", "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher, "--epochs", "2", "--batch_size", "32", "--synthesis_batch_size", "32",
            "--kd_steps", "4", "--ep_steps", "8", "--g_steps", "2", "--ngf", "16", "--lr", "0.05", "--adv", "1",
            "--bn", "1", "--oh", "1", "-j", "0", "--seed", "0", "--gpu", "0", "--save_dir", str(save_dir), *extra]


@pytest.mark.parametrize("method", sorted(SYNTHESIZERS))
def test_every_synthesizer_keeps_its_tensors_on_the_gpu(method):
    from helpers import small_classifier
    teacher, student = small_classifier(0).to(CUDA).eval(), small_classifier(1).to(CUDA)
    cls = SYNTHESIZERS[method]
    kwargs = dict(num_classes=3, img_shape=(1, 8, 8), normalizer=Normalizer((0.5,), (0.5,)), device=CUDA,
                  synthesis_batch_size=8, batch_size=4, g_steps=2, adv=1.0, bn=1.0, oh=1.0)
    if getattr(cls, "label_conditioned", False):
        kwargs.update(generator=NoisyLayerGenerator(torch.eye(3), 8, hidden=8, ngf=4, img_size=8, nc=1))
    elif cls.needs_generator:
        kwargs.update(nz=8, generator=(LargeGenerator if cls.large_generator else Generator)(nz=8, ngf=4, img_size=8,
                                                                                             nc=1))
    if method == "cmi":
        kwargs.update(bank_size=16, n_neg=8, head_dim=8)
    synth = cls(teacher, student, **kwargs)
    out = synth.synthesize()
    assert out["images"].device.type == "cuda"
    batch = synth.sample()
    assert batch.device.type == "cuda" and torch.isfinite(batch).all()
    if hasattr(synth, "pool"):
        assert synth.pool.images.device.type == "cuda"


def test_pool_and_augmentation_run_on_the_gpu():
    pool = ImagePool(CUDA)
    pool.add(torch.rand(16, 3, 32, 32, device=CUDA))
    x = Augment(Normalizer((0.5,) * 3, (0.5,) * 3))(pool.sample(8))
    assert x.device.type == "cuda" and x.shape == (8, 3, 32, 32)


@pytest.mark.parametrize("extra", [["--fp16"], ["--fp16", "--bf16"], ["--channels_last"],
                                   ["--fp16", "--channels_last"]])
def test_amp_and_channels_last_runs_end_finite(extra, tiny_data, tiny_teacher, tmp_path):
    datafree_kd.main(flags(tmp_path, tiny_teacher, extra))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["epochs_done"] == 2 and "cpu" not in summary["device"]
    ckpt = torch.load(tmp_path / "last.pth", weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())


def test_resume_on_cuda_ends_with_the_same_weights(tiny_data, tiny_teacher, tmp_path, monkeypatch):
    """Deterministic algorithms (CUBLAS_WORKSPACE_CONFIG is set by the suite); SIGTERM in epoch 1, then resume."""
    import datafree.distill as distill
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", os.environ.get("CUBLAS_WORKSPACE_CONFIG", ":4096:8"))
    torch.use_deterministic_algorithms(True)
    try:
        datafree_kd.main(flags(tmp_path / "full", tiny_teacher))
        real, calls = distill.kd_step, []

        def kd_step(*args, **kwargs):
            calls.append(1)
            if len(calls) == 11:      # epoch 1, its 3rd step
                os.kill(os.getpid(), signal.SIGTERM)
            return real(*args, **kwargs)

        monkeypatch.setattr(distill, "kd_step", kd_step)
        with pytest.raises(SystemExit):
            datafree_kd.main(flags(tmp_path / "part", tiny_teacher))
        monkeypatch.setattr(distill, "kd_step", real)
        datafree_kd.main(flags(tmp_path / "part", tiny_teacher, ["--resume", "auto"]))
    finally:
        torch.use_deterministic_algorithms(False)
    full = torch.load(tmp_path / "full" / "last.pth", weights_only=True)
    resumed = torch.load(tmp_path / "part" / "last.pth", weights_only=True)
    for k, v in full["state_dict"].items():
        assert torch.equal(v, resumed["state_dict"][k]), k
    for k, v in full["synthesizer"]["generator"].items():
        assert torch.equal(v, resumed["synthesizer"]["generator"][k]), k


def test_the_imagenet_generator_makes_one_224_pixel_synthesis_step():
    import registry
    teacher = registry.get_model("resnet18_imagenet", num_classes=1000).to(CUDA).eval()
    student = registry.get_model("resnet18_imagenet", num_classes=1000).to(CUDA)
    synth = SYNTHESIZERS["fast_meta"](
        teacher, student, DeepGenerator(nz=256, ngf=64, img_size=224, nc=3), nz=256, num_classes=1000,
        img_shape=(3, 224, 224), normalizer=Normalizer(**registry.NORMALIZE_DICT["imagenet"]), device=CUDA,
        synthesis_batch_size=8, batch_size=8, g_steps=1, adv=1.0, bn=1.0, oh=1.0)
    out = synth.synthesize()
    assert out["images"].shape == (8, 3, 224, 224) and torch.isfinite(out["loss"])
    assert synth.sample().device.type == "cuda"
