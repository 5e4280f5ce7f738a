"""Every command line of the reference repositories' scripts and READMEs (zju-vipa/Fast-Datafree 0dcecbc,
zju-vipa/CMI 9e79fa9, tmtuan1307/NAYER c6bedcd) parses with our entry scripts' parsers as pasted. The lines were
collected by tests/reference/extract_commands.py (its docstring says how to regenerate them)."""
import json
import os
import shlex

import numpy as np
import pytest
import torch

import datafree_kd
import registry
import train_scratch
import vanilla_kd
from datafree.synthesis.embeddings import CLIP
from engine.cli import parse_args
from helpers import make_blobs

PARSERS = {"datafree_kd.py": datafree_kd.build_parser, "vanilla_kd.py": vanilla_kd.build_parser,
           "train_scratch.py": train_scratch.build_parser}
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "reference_commands.txt")


def reference_commands():
    with open(FIXTURE) as f:
        rows = [line.rstrip("\n").split(": ", 1) for line in f if line.strip()]
    return [pytest.param(source, command, id=f"{source}:{i}") for i, (source, command) in enumerate(rows)]


def test_the_fixture_holds_every_reference_script():
    sources = {source for source, _ in (p.values for p in reference_commands())}
    assert len(reference_commands()) >= 76
    assert "CMI/scripts/cmi/adv_cmi_cifar10_wrn402_wrn161.sh" in sources
    assert "Fast-Datafree/scripts/fast_cifar.sh" in sources
    assert {"NAYER/scripts/nayer_100.sh", "NAYER/scripts/nayer_200.sh", "NAYER/scripts/nayer_300.sh",
            "NAYER/README.md"} <= sources


@pytest.mark.parametrize("source,command", reference_commands())
def test_reference_command_parses(source, command):
    script, *argv = shlex.split(command)
    args = parse_args(PARSERS[script](), argv)
    flags = dict(zip(argv, argv[1:], strict=False))   # each word -> the next one
    for flag in ("--dataset", "--teacher", "--student", "--method", "--model"):   # the values reach the run
        if flag in flags:
            assert getattr(args, flag[2:]) == flags[flag]


def nayer_commands():
    """NAYER's datafree_kd.py lines: (source, argv)."""
    return [(source, shlex.split(command)[1:]) for source, command in (p.values for p in reference_commands())
            if source.startswith("NAYER/") and command.startswith("datafree_kd.py ")]


def test_nayer_lines_compute_nayers_settings():
    """NAYER's 33 script lines (3 lengths x 11 runs) and its README's, parsed and validated as pasted: the values its
    scripts rely on from its parser (T 20, bn_mmt 0.9, 400 KD steps of 400, noisy layer 1000 wide) come from
    --method nayer's defaults, and the flags they pass keep their values (--gpu, --save_dir, --log_tag included)."""
    lines = nayer_commands()
    assert len(lines) == 34
    for source, argv in lines:
        args = datafree_kd.validate(parse_args(datafree_kd.build_parser(), argv))
        flags = dict(zip(argv, argv[1:], strict=False))
        assert (args.method, args.T, args.bn_mmt, args.le_emb_size, args.label_emb) == ("nayer", 20, 0.9, 1000, "auto")
        assert (args.gpu, args.save_dir, args.log_tag) == (0, flags["--save_dir"], flags["--log_tag"])
        assert (args.lr_g, args.adv, args.bn, args.oh, args.warmup, args.g_life) == (4e-3, 1.33, 10.0, 0.5, 20, 10)
        tiny = args.dataset == "tiny_imagenet"
        assert args.g_steps == {"cifar10": 30, "cifar100": 40, "tiny_imagenet": 60}[args.dataset]
        assert (args.batch_size, args.synthesis_batch_size, args.lr) == ((256, 200, 0.1) if tiny else (512, 400, 0.2))
        assert (args.g_loops, args.gwp_loops) == ((4, 20) if tiny else (2, 10))
        assert (args.kd_steps, args.ep_steps) == ((1000, 1000) if tiny else (400, 400))
        if source != "NAYER/README.md":
            assert args.epochs == {"100": 120, "200": 220, "300": 320}[source[-6:-3]]


def set_words(argv, **values):
    """argv with each --NAME's value replaced in place (appended when absent)."""
    argv = list(argv)
    for name, value in values.items():
        flag = f"--{name}"
        if flag in argv:
            argv[argv.index(flag) + 1] = str(value)
        else:
            argv += [flag, str(value)]
    return argv


@pytest.fixture
def cifar10_blobs(monkeypatch):
    """Generated 3x32x32 data with 10 classes in place of the registry's cifar10 (test split: 40 images)."""
    train, val = make_blobs(40, num_classes=10, channels=3, seed=0), make_blobs(40, num_classes=10, channels=3, seed=1)
    monkeypatch.setattr(registry, "get_dataset", lambda name, data_root="data", in_memory=False: (10, train, val))


@pytest.mark.filterwarnings("ignore:--gpu 0 was given but no CUDA device exists")
def test_a_nayer_line_runs_shortened_with_the_shipped_clip_embedding(cifar10_blobs, tmp_path):
    """NAYER's c10w402w161 line of nayer_100.sh, with its schedule (warm-up loops included) and models shortened, runs
    to its summary.json on generated CIFAR-10-shaped data; --label_emb auto loads the shipped CLIP ViT-B/32 vectors of
    CIFAR-10, on whatever device --gpu 0 gives (the CPU where there is no GPU)."""
    argv = next(a for s, a in nayer_commands() if s == "NAYER/scripts/nayer_100.sh" and "c10w402w161-nayer-ep120" in a)
    torch.manual_seed(0)
    ckpt = tmp_path / "cifar10_resnet8.pth"
    torch.save({"state_dict": registry.get_model("resnet8", num_classes=10).state_dict()}, ckpt)
    argv = set_words(argv, epochs=2, warmup=1, kd_steps=2, ep_steps=2, g_steps=2, gwp_loops=2, batch_size=16,
                     synthesis_batch_size=20, teacher="resnet8", student="resnet8", teacher_ckpt=ckpt,
                     save_dir=tmp_path / "run", workers=0, label_emb="auto")
    seen = {}
    datafree_kd.main(argv, synthesizer_hook=lambda synth: seen.update(synth=synth))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["method"] == "nayer" and summary["epochs_done"] == 2
    config = torch.load(tmp_path / "run" / "last.pth", weights_only=False)["config"]
    assert {k: config[k] for k in ("T", "bn_mmt", "g_life", "g_loops", "le_emb_size", "label_emb")} == {
        "T": 20, "bn_mmt": 0.9, "g_life": 10, "g_loops": 2, "le_emb_size": 1000, "label_emb": "auto"}
    shipped = np.load(CLIP["cifar10"])
    emb = seen["synth"].generator.label_emb.cpu()
    assert emb.shape == (10, 512) and torch.equal(emb, torch.from_numpy(shipped))
    assert np.allclose(emb[0, :3].numpy(), [0.1790, 0.0986, 0.1709], atol=1e-4)
