"""Every baseline behind --method: end-to-end runs, their loss terms, and the online alternation."""
import copy
import json

import pytest
import torch
import torch.nn.functional as F

import datafree_kd
from datafree.distill import distill_epoch
from datafree.synthesis import SYNTHESIZERS, DFADSynthesizer, Generator, ZSKTSynthesizer, losses
from datafree.synthesis.augment import Normalizer
from engine.datasets import load_image_folder
from engine.device import Precision
from engine.errors import UserError
from engine.global_batch import Rows
from engine.train import kd_loss
from helpers import pool_images, small_classifier


def method_flags(method, tmp_path, teacher_ckpt):
    return ["--method", method, "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher_ckpt, "--epochs", "1", "--batch_size", "8", "--synthesis_batch_size", "8",
            "--kd_steps", "2", "--ep_steps", "4", "--g_steps", "2", "--ngf", "8", "--lr", "0.05", "--lr_g", "1e-3",
            "--bn", "1", "--oh", "1", "--adv", "1", "--act", "0.1", "--balance", "1", "--cr", "0.8", "--cr_T", "0.2",
            "--T", "20", "-j", "0", "--seed", "0", "--save_dir", str(tmp_path)]


def recording_hook(record):
    """A synthesizer_hook that keeps the synthesizer, a copy of the student before any KD step, and each value of the
    method's synthesis objective (one per generator or image step; none for the noise control)."""
    def hook(synth):
        record.update(synth=synth, student0=copy.deepcopy(synth.student), losses=[])
        name = next((n for n in ("generator_loss", "inversion_loss") if hasattr(synth, n)), None)
        if name is not None:
            real = getattr(synth, name)

            def recorded(*args, **kwargs):
                out = real(*args, **kwargs)
                record["losses"].append(out[0].detach().float().mean().item())
                return out
            setattr(synth, name, recorded)
    return hook


# 5 synthesis steps per round, so that one epoch moves the objective; DeepInversion optimises pixels (no generator):
# a larger step and more of them.
SYNTHESIS_FLAGS = {"deepinv": ["--g_steps", "10", "--lr_g", "0.25"]}


@pytest.mark.parametrize("method", sorted(SYNTHESIZERS))
def test_one_epoch_of_every_method_synthesizes_and_distills(method, tiny_data, tiny_teacher, tmp_path):
    """One epoch (2 rounds of synthesis + 2 KD steps) end to end. A working method lowers its synthesis objective
    (the flags' bn and oh terms keep it positive) and its KD steps bring the student closer to the teacher on the
    method's own samples. A run whose generator or images never change (all loss weights 0, or no optimiser step)
    keeps the objective within ~1% of its first value, one without KD steps keeps the student's KL: both fail here.
    (The student's test accuracy is no use at this budget: every method, broken or not, leaves it at chance.)"""
    run = {}
    flags = method_flags(method, tmp_path, tiny_teacher) + ["--g_steps", "5", "--lr_g", "1e-2"]
    datafree_kd.main(flags + SYNTHESIS_FLAGS.get(method, []), synthesizer_hook=recording_hook(run))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["method"] == method and summary["epochs_done"] == 1 and summary["kd_seconds"] > 0
    assert (tmp_path / "synthetic.png").is_file() and (tmp_path / "last.pth").is_file()
    losses, synth = run["losses"], run["synth"]
    if method != "noise":
        assert len(losses) == 2 * summary["g_steps"]
        assert min(losses) < losses[0] - 0.05 * abs(losses[0]), losses
    torch.manual_seed(0)
    x = synth.sample()   # a KD batch of the method: from the pool, the generator, or noise
    with torch.no_grad():
        t_logits = synth.teacher(x)
        before = kd_loss(run["student0"].eval()(x), t_logits).item()
        after = kd_loss(synth.student.eval()(x), t_logits).item()
    assert after < 0.85 * before, (before, after)


def test_class_balance_is_minimal_for_a_uniform_mean_prediction():
    uniform = torch.tensor([[5.0, 0.0], [0.0, 5.0]])           # mean prediction (0.5, 0.5)
    skewed = torch.tensor([[5.0, 0.0], [5.0, 0.0]])
    assert losses.class_balance_loss(uniform).item() == pytest.approx(-torch.log(torch.tensor(2.0)).item(), abs=1e-3)
    assert losses.class_balance_loss(skewed).item() > losses.class_balance_loss(uniform).item()
    flat = torch.zeros(4, 10)
    assert losses.class_balance_loss(flat).item() == pytest.approx(-torch.log(torch.tensor(10.0)).item(), rel=1e-6)


def test_activation_term_is_minus_mean_absolute_feature():
    f = torch.tensor([[1.0, -3.0], [0.5, 0.5]])
    assert losses.activation_loss(f).item() == pytest.approx(-1.25)


def test_contrastive_term_prefers_the_positive_pair_and_splits_current_and_cached_rows():
    local = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])      # 2 current rows + 1 cached row
    aligned = losses.contrastive_loss(local, local.clone(), Rows(2), 0.2)
    swapped = losses.contrastive_loss(local, local[[1, 0, 2]], Rows(2), 0.2)
    assert aligned.item() < 0.1 < swapped.item()
    # Hand-computed: logits (1/T) * local @ local.T with T = 0.2, targets (0, 1, 2); the current rows' mean plus
    # the cached row's mean.
    logits = torch.tensor([[5.0, 0.0, -5.0], [0.0, 5.0, 0.0], [-5.0, 0.0, 5.0]])
    per_row = F.cross_entropy(logits, torch.tensor([0, 1, 2]), reduction="none")
    assert aligned.item() == pytest.approx((per_row[:2].mean() + per_row[2]).item(), rel=1e-5)
    assert losses.contrastive_loss(local, local, Rows(3), 0.2).item() == pytest.approx(per_row.mean().item(), rel=1e-5)
    a, g = local.clone().requires_grad_(), local.clone().requires_grad_()
    losses.contrastive_loss(a, g, Rows(2), 0.2).backward()
    assert a.grad.abs().sum() > 0 and g.grad is None      # the global side is a fixed target


def test_zskt_and_dfad_generators_maximise_the_discrepancy():
    t = torch.tensor([[2.0, 0.0, 0.0]])
    close, far = torch.tensor([[1.5, 0.0, 0.0]]), torch.tensor([[0.0, 2.0, 0.0]])
    for adversarial in (ZSKTSynthesizer.adversarial, DFADSynthesizer.adversarial):
        assert adversarial(far, t).item() < adversarial(close, t).item() < 0
    assert ZSKTSynthesizer.adversarial(t, t).item() == pytest.approx(0.0, abs=1e-7)


def test_dfad_uses_l1_on_logits_for_generator_and_student():
    s, t = torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0, 0.0]])
    assert DFADSynthesizer.student_loss(s, t).item() == pytest.approx(1.5)
    assert DFADSynthesizer.adversarial(s, t).item() == pytest.approx(-1.5)
    # ZSKT's student learns with KL at T=1 whatever --T says, as in the reference
    assert ZSKTSynthesizer.student_loss(s, t).item() == pytest.approx(kd_loss(s, t, 1.0).item(), rel=1e-6)


ONLINE_WEIGHTS = {"dafl": dict(oh=1, act=0.001, balance=20), "zskt": dict(adv=1),
                  "dfq": dict(adv=1, bn=1, oh=1, balance=20), "dfad": dict(adv=1)}


def online_synth(cls, g_steps, **weights):
    teacher, student = small_classifier(0).eval(), small_classifier(1)
    return cls(teacher, student, Generator(nz=8, ngf=4, img_size=8, nc=1), nz=8, num_classes=3, img_shape=(1, 8, 8),
               normalizer=Normalizer((0.5,), (0.5,)), device=torch.device("cpu"), synthesis_batch_size=6,
               batch_size=4, g_steps=g_steps, lr_g=0.01, **weights)


@pytest.mark.parametrize("method", ["dafl", "zskt", "dfq", "dfad"])
def test_online_methods_refuse_all_zero_weights_with_the_reference_flags(method):
    with pytest.raises(UserError, match="every loss weight is 0.*reference script uses --"):
        online_synth(SYNTHESIZERS[method], g_steps=1)


@pytest.mark.parametrize("method", ["dafl", "zskt", "dfq", "dfad"])
def test_online_methods_alternate_generator_and_student_steps(method):
    synth = online_synth(SYNTHESIZERS[method], g_steps=3, **ONLINE_WEIGHTS[method])
    assert synth.online and any(synth.weights.values())
    optimizer = torch.optim.SGD(synth.student.parameters(), lr=0.01)
    events = []
    for opt, tag in ((synth.optimizer, "G"), (optimizer, "S")):
        real = opt.step
        opt.step = lambda *a, _real=real, _tag=tag, **k: (events.append(_tag), _real(*a, **k))[1]
    g_before = [p.detach().clone() for p in synth.generator.parameters()]
    s_before = [p.detach().clone() for p in synth.student.parameters()]
    out = distill_epoch(synth, synth.student, synth.teacher, optimizer, Precision(torch.device("cpu"), False),
                        ep_steps=4, kd_steps=2, T=1.0)
    assert "".join(events) == "GGGSSGGGSS"
    assert any(not torch.equal(a, b) for a, b in zip(g_before, synth.generator.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(s_before, synth.student.parameters(), strict=True))
    assert out["synthesis_seconds"] > 0
    assert synth.sample().shape == (4, 1, 8, 8)   # fresh samples, no pool
    assert not hasattr(synth, "pool")


def test_cmi_init_loads_a_folder_of_images(tmp_path):
    from PIL import Image
    for i in range(3):
        Image.fromarray((torch.rand(10, 12) * 255).byte().numpy(), mode="L").save(tmp_path / f"{i}.png")
    images = load_image_folder(str(tmp_path), (1, 8, 8))
    assert images.shape == (3, 1, 8, 8) and images.min() >= 0 and images.max() <= 1


def test_deepinv_keeps_pixels_valid_and_lowers_its_loss():
    teacher, student = small_classifier(0).eval(), small_classifier(1)
    synth = SYNTHESIZERS["deepinv"](teacher, student, num_classes=3, img_shape=(1, 8, 8),
                                    normalizer=Normalizer((0.5,), (0.5,)), device=torch.device("cpu"),
                                    synthesis_batch_size=8, batch_size=4, g_steps=30, lr_g=0.1, bn=1.0, oh=1.0,
                                    tv=0.1)
    recorded = []
    real = synth.inversion_loss
    synth.inversion_loss = lambda x, t: (lambda out: (recorded.append(out[0].item()), out)[1])(real(x, t))
    out = synth.synthesize()
    assert out["images"].min() >= 0 and out["images"].max() <= 1
    assert min(recorded[-5:]) < recorded[0]
    assert len(synth.pool) == 8


@pytest.mark.parametrize("method", ["fast", "fast_meta"])
def test_cmi_init_seeds_the_pool_of_fast_and_fast_meta(method, tiny_data, tiny_teacher, tmp_path):
    from PIL import Image
    init = tmp_path / "init"
    init.mkdir()
    for i in range(5):
        Image.fromarray((torch.rand(32, 32) * 255).byte().numpy(), mode="L").save(init / f"{i}.png")
    pools = []
    datafree_kd.main(method_flags(method, tmp_path / "run", tiny_teacher) + ["--cmi_init", str(init)],
                     synthesizer_hook=lambda s: pools.append(len(s.pool)))
    assert pools == [5]
    assert len(pool_images(tmp_path / "run")) == 5 + 2 * 8     # + ep_steps // kd_steps batches of 8


def test_upstream_flags_pretrained_parses_and_start_epoch_is_refused(tiny_data, tiny_teacher, tmp_path, capsys):
    datafree_kd.main(method_flags("fast", tmp_path / "a", tiny_teacher) + ["--pretrained"])
    assert (tmp_path / "a" / "summary.json").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        datafree_kd.main(method_flags("fast", tmp_path / "b", tiny_teacher) + ["--start_epoch", "5"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--start_epoch 5" in err[0] and "--resume" in err[0]


def test_a_reference_student_checkpoint_resumes_with_a_clear_message(tiny_data, tiny_teacher, tmp_path):
    """The reference code saves {'epoch', 'arch', 'state_dict' (of a DataParallel student: 'module.' keys),
    'best_acc1', 'optimizer', 'scheduler'} and no synthesizer state."""
    from registry import get_model
    student = get_model("resnet8", num_classes=10, in_channels=1)
    optimizer = torch.optim.SGD(student.parameters(), 0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 200, eta_min=2e-4)
    ref = {"epoch": 1, "arch": "resnet8", "best_acc1": 12.5, "optimizer": optimizer.state_dict(),
           "scheduler": scheduler.state_dict(),
           "state_dict": {f"module.{k}": v for k, v in student.state_dict().items()}}
    torch.save(ref, tmp_path / "ref.pth")
    flags = method_flags("fast_meta", tmp_path / "run", tiny_teacher)
    flags[flags.index("--epochs") + 1] = "2"
    datafree_kd.main(flags + ["--resume", str(tmp_path / "ref.pth")])
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "holds no synthesizer state" in log and "at epoch 1 (best acc@1 12.50)" in log
    assert "generator, image pool and timers start fresh" in log
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs_done"] == 2      # one more epoch, after the reference's first
