"""The ImageNet path: torchvision models from local weights, ImageFolder data, the deep generator, the script."""
import json
import os
import shlex
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

import datafree_kd
import registry
from datafree.synthesis.generator import DeepGenerator, Generator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def tiny_imagenet(tmp_path, monkeypatch):
    """data_root with ILSVRC2012/{train,val}/<4 classes>/ of random PNGs; ImageNet shrunk to 4 classes at 96 px."""
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in range(4):
            folder = tmp_path / "data" / "ILSVRC2012" / split / f"n0000000{c}"
            folder.mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    monkeypatch.setitem(registry.DATASET_INFO, "imagenet", (4, 3, 96))
    return tmp_path / "data"


def torchvision_weights(path, name, num_classes):
    """A bare torchvision state_dict without BatchNorm batch counters, like torchvision's original files."""
    torch.manual_seed(0)
    state = registry.get_model(name, num_classes=num_classes).state_dict()
    torch.save({k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, path)
    return str(path)


def test_fast_meta_on_imagefolder_with_torchvision_models(tiny_imagenet, tmp_path):
    teacher_ckpt = torchvision_weights(tmp_path / "resnet18.pth", "resnet18_imagenet", 4)
    held = {}
    datafree_kd.main(["--method", "fast_meta", "--dataset", "imagenet", "--data_root", str(tiny_imagenet),
                      "--teacher", "resnet18_imagenet", "--student", "resnet18_imagenet", "--teacher_ckpt",
                      teacher_ckpt, "--epochs", "1", "--batch_size", "8", "--synthesis_batch_size", "4",
                      "--g_steps", "2", "--kd_steps", "1", "--ep_steps", "1", "--ngf", "8", "--bn", "0.1",
                      "--oh", "0.1", "--adv", "1", "--bn_mmt", "0.9", "--is_maml", "0", "--T", "5", "-j", "0",
                      "--seed", "0", "--save_dir", str(tmp_path / "run")],
                     synthesizer_hook=lambda synth: held.update(synth=synth))
    assert isinstance(held["synth"].generator, DeepGenerator)
    assert held["synth"].pool.tensor().shape == (4, 3, 96, 96)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs_done"] == 1 and summary["teacher"] == "resnet18_imagenet"
    assert summary["last_acc1"] is not None


def test_missing_imagenet_teacher_weights_say_how_to_get_them(tiny_imagenet, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        datafree_kd.main(["--method", "fast_meta", "--dataset", "imagenet", "--data_root", str(tiny_imagenet),
                          "--teacher", "resnet50_imagenet", "--student", "resnet18_imagenet",
                          "--save_dir", str(tmp_path / "run")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "checkpoints/pretrained/imagenet_resnet50_imagenet.pth" in err[0]
    assert "torchvision.models.resnet50(weights='IMAGENET1K_V1')" in err[0]


def test_imagenet_models_are_torchvision_architectures():
    counts = {"resnet50_imagenet": 25_557_032, "resnet18_imagenet": 11_689_512, "mobilenetv2_imagenet": 3_504_872}
    for name, count in counts.items():
        model = registry.get_model(name, num_classes=1000)
        assert sum(p.numel() for p in model.parameters()) == count, name
    assert "fc.weight" in registry.get_model("resnet18_imagenet", num_classes=10).state_dict()
    with pytest.raises(Exception, match="3-channel"):
        registry.get_model("resnet18_imagenet", num_classes=10, in_channels=1)


def test_deep_generator_makes_224_pixel_images_and_keeps_the_generator_interface():
    torch.manual_seed(0)
    gen = DeepGenerator(nz=16, ngf=4, img_size=224, nc=3)
    x = gen(torch.randn(2, 16))
    assert x.shape == (2, 3, 224, 224) and 0 <= x.min() and x.max() <= 1
    assert {n.split(".")[0] for n, _ in gen.named_parameters()} == {"l1", "conv_blocks"}
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    gen.reset_l0()
    changed = {k for k, v in gen.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"l1.0.weight", "l1.0.bias", "conv_blocks.0.weight"}   # the BN bias starts at 0 already
    with pytest.raises(ValueError, match="multiple of 16"):
        DeepGenerator(img_size=100)
    assert list(Generator(nz=8, ngf=4, img_size=32).state_dict())[:2] == ["l1.0.weight", "l1.0.bias"]


# The settings of upstream's three finished Fast-50 runs, as their logs print them (zju-vipa/Fast-Datafree at
# 0dcecbc, logs/log-imagenet-resnet50_imagenet-{resnet50,resnet18,mobilenetv2}_imagenet-FastDFKD_50.txt, the run of
# each file that reaches epoch 399), in this project's flag names; --pool_batch, --synthesis_aug, --kd_aug and
# --eta_min are what its fast_meta_imagenet.py and datafree_kd_imagenet.py hard-code.
UPSTREAM_IMAGENET = dict(method="fast_meta_imagenet", dataset="imagenet", teacher="resnet50_imagenet", batch_size=100,
                         synthesis_batch_size=None, g_steps=50, kd_steps=100, ep_steps=1000, epochs=400, lr=0.1,
                         T=5.0, bn=0.1, oh=0.1, act=0.0, balance=0.0, lr_g=2e-4, lr_z=0.01, lr_g_meta=1e-4,
                         lr_z_meta=5e-3, reinit=50, bn_mmt=0.9, is_maml=0, reset_l0=0, reset_bn=0, warmup=0,
                         weight_decay=1e-4, momentum=0.9, seed=0, reptile_scale=1.0, pool_batch="last",
                         synthesis_aug="resized_crop", kd_aug="resized_crop", eta_min=0.0)
UPSTREAM_ADV = {"resnet50_imagenet": 0.1, "resnet18_imagenet": 1.0, "mobilenetv2_imagenet": 0.1}


def imagenet_script_runs(**env):
    out = subprocess.run(["bash", "scripts/fast_imagenet.sh"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DRY_RUN": "1", "PYTHON": "python", **env}).stdout
    return [datafree_kd.build_parser().parse_args(shlex.split(line)[2:]) for line in out.splitlines()]


def test_fast_imagenet_script_runs_upstreams_three_fast_50_runs():
    runs = imagenet_script_runs()
    assert {a.student: a.adv for a in runs} == UPSTREAM_ADV
    for a in runs:
        assert {k: getattr(a, k) for k in UPSTREAM_IMAGENET} == UPSTREAM_IMAGENET
        assert a.cmi_init == "run/fast_imagenet/cmi_init"
    assert len({a.save_dir for a in runs}) == 3
    assert [a.cmi_init for a in imagenet_script_runs(CMI_INIT="")] == [None] * 3
    assert {a.cmi_init for a in imagenet_script_runs(CMI_INIT="pool")} == {"pool"}


@pytest.mark.parametrize("method, expected", [
    ("fast_meta_imagenet", (0, 1.0, "last", "resized_crop", "resized_crop", 0.0)),   # upstream's ImageNet code
    ("fast_meta", (1, 67.0, "best", None, None, 2e-4)),                                # upstream's CIFAR code
])
def test_method_defaults_are_the_reference_codes(method, expected):
    a = datafree_kd.validate(datafree_kd.build_parser().parse_args(["--method", method]))
    assert (a.is_maml, a.reptile_scale, a.pool_batch, a.synthesis_aug, a.kd_aug, a.eta_min) == expected


def test_fast_meta_imagenet_at_224_px_starts_from_the_pre_inverted_pool(tiny_imagenet, tmp_path, monkeypatch):
    """Upstream's ImageNet recipe on tiny generated 224 px data: the spatial latent code and its conv-stem generator,
    the code re-drawn every --reinit calls, the pool = the --cmi_init images (any size, resized) + each call's last
    step, resized-crop views for synthesis and KD."""
    from datafree.synthesis.augment import ResizedCropAugment
    from datafree.synthesis.fast_meta_imagenet import FastMetaImageNetSynthesizer
    from datafree.synthesis.generator import SpatialDeepGenerator

    monkeypatch.setitem(registry.DATASET_INFO, "imagenet", (4, 3, 224))
    init = tmp_path / "init"
    init.mkdir()
    rng = np.random.default_rng(1)
    for i, size in enumerate([(224, 224), (224, 224), (100, 130)]):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(init / f"{i}.png")
    draws = []
    new_latent = FastMetaImageNetSynthesizer.new_latent
    monkeypatch.setattr(FastMetaImageNetSynthesizer, "new_latent", lambda self: (draws.append(1), new_latent(self)))
    teacher_ckpt = torchvision_weights(tmp_path / "resnet18.pth", "resnet18_imagenet", 4)
    held = {}
    datafree_kd.main(["--method", "fast_meta_imagenet", "--dataset", "imagenet", "--data_root", str(tiny_imagenet),
                      "--teacher", "resnet18_imagenet", "--student", "resnet18_imagenet", "--teacher_ckpt",
                      teacher_ckpt, "--epochs", "1", "--batch_size", "4", "--g_steps", "2", "--kd_steps", "1",
                      "--ep_steps", "3", "--reinit", "2", "--nz", "8", "--ngf", "4", "--bn", "0.1", "--oh", "0.1",
                      "--adv", "1", "--bn_mmt", "0.9", "--T", "5", "-j", "0", "--seed", "0",
                      "--cmi_init", str(init), "--save_dir", str(tmp_path / "run")],
                     synthesizer_hook=lambda synth: held.update(synth=synth))
    synth = held["synth"]
    assert isinstance(synth.generator, SpatialDeepGenerator) and synth.z.shape == (4, 8, 14, 14)
    assert len(draws) == 2   # at construction, and at the second of the three calls (reinit 2)
    assert synth.pool.tensor().shape == (3 + 3 * 4, 3, 224, 224)
    assert isinstance(synth.augment, ResizedCropAugment) and synth.augment.scale == (0.08, 1.0)
    assert isinstance(synth.synthesis_augment, ResizedCropAugment) and synth.synthesis_augment.scale == (0.75, 1.0)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs_done"] == 1 and summary["last_acc1"] is not None


def test_fast_meta_imagenet_refuses_first_order_maml(tmp_path, capsys):
    with pytest.raises(SystemExit):
        datafree_kd.main(["--method", "fast_meta_imagenet", "--is_maml", "1", "--dataset", "cifar10",
                          "--save_dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--is_maml 0" in err[0]
