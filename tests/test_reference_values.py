"""Every method's synthesis loss, its terms, its parameter updates and the KD step against numbers computed by the
reference code on the same tensors.

How the numbers in tests/fixtures/reference_values.json were produced (2026-11-25, torch 2.14.1, CPU, float32):
the reference repositories zju-vipa/Fast-Datafree (commit 0dcecbc: fast, fast_meta, reset_l0, DeepInversion,
the KD step of its datafree_kd.train) and zju-vipa/CMI (commit 9e79fa9: CMI and its GenerativeSynthesizer for
DAFL, ZSKT, DFQ and DFAD, with the student passed as in its datafree_kd.py) were imported unmodified, with
`.cuda()` made a no-op, their DataLoader/PNG side effects ignored, and three random augmentations replaced by
deterministic ones that the tests below replace identically (crop+flip -> identity, CMI's local view -> a
horizontal flip, DeepInversion's jitter -> identity). The models were the reference's wrn_16_1 (teacher) and
resnet8 (student) and its Generator / LargeGenerator (nz 16, ngf 8, 32x32x3), every floating-point entry of
their state_dicts set by `fill_` below (the same function, with the same salts, on the reference side; entries
are taken in sorted-name order, and both code bases use the same names). Each synthesize() call was preceded
by torch.manual_seed(1234) (a second call by 1235), so z, targets and CMI's per-batch re-initialisation draw
the same numbers here and there. A step's total loss was recorded at its `.backward()`; a single term as the
total loss of a run with only that weight set to 1 (or, where the reference cannot run without the adversarial
term, as a difference of two such runs); parameters as `checksums` (sum, sum of squares, sum weighted by
sin(0.731 i)). Tolerance: 1e-5 relative (plus 1e-6 absolute for values near zero) for losses; parameter checksums
after Adam steps get 2e-4 absolute on top: Adam moves every element by about lr whatever its gradient's size, so an
element whose gradient is at float-noise level (|g| ~ 1e-8) can move differently in two correct float32
implementations, while a wrong gradient moves thousands of elements (~lr * sqrt(n), 1e-2 or more, off)."""
import json
import os

import pytest
import torch

import registry
from datafree.synthesis import SYNTHESIZERS
from datafree.synthesis.augment import Normalizer
from datafree.synthesis.generator import Generator, LargeGenerator
from engine.device import Precision
from engine.train import kd_step

REF = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "reference_values.json")))
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
B, NZ, NGF, SEED = 4, 16, 8, 1234
CPU = torch.device("cpu")


def fill_(module, salt=0.0):
    """Deterministic weights: entry i of the k-th state_dict tensor (sorted names) from a sine hash in [-1, 1),
    scaled per kind (BN running var in [0.5, 1], BN weight 1 +- 0.1, biases +-0.05, weights +-sqrt(3/fan_in))."""
    sd = module.state_dict()
    with torch.no_grad():
        for k, name in enumerate(sorted(sd)):
            t = sd[name]
            if not t.is_floating_point():
                continue
            i = torch.arange(t.numel(), dtype=torch.float64)
            h = torch.sin(i * 12.9898 + (k + 1) * 78.233 + salt) * 43758.5453
            wave = 2 * (h - torch.floor(h)) - 1
            if name.endswith("running_var"):
                val = 0.5 + 0.5 * wave ** 2
            elif name.endswith("running_mean"):
                val = 0.1 * wave
            elif t.dim() == 1 and name.endswith("weight"):
                val = 1.0 + 0.1 * wave
            elif name.endswith("bias"):
                val = 0.05 * wave
            else:
                val = wave * (3.0 / t[0].numel()) ** 0.5
            t.copy_(val.view_as(t).to(t.dtype))
    return module


def checksums(tensors):
    out = []
    for t in tensors:
        t = t.detach().double().flatten()
        w = torch.sin(torch.arange(t.numel(), dtype=torch.float64) * 0.731)
        out.append([t.sum().item(), (t * t).sum().item(), (t * w).sum().item()])
    return out


def fixed_images(n, c=3, h=32, w=32, salt=0.0):
    i = torch.arange(n * c * h * w, dtype=torch.float64)
    return (0.5 + 0.45 * torch.sin(0.113 * i + salt) * torch.cos(0.0071 * i)).view(n, c, h, w).float()


def close(actual, expected):
    assert actual == pytest.approx(expected, rel=1e-5, abs=1e-6)


def close_params(tensors, expected):
    got = checksums(tensors)
    assert len(got) == len(expected)
    for sums, want in zip(got, expected):
        assert sums == pytest.approx(want, rel=1e-5, abs=2e-4)


@pytest.fixture
def losses(monkeypatch):
    """The total loss of every backward() call, as the reference values were recorded."""
    recorded = []
    real = torch.Tensor.backward

    def backward(self, *args, **kwargs):
        recorded.append(self.detach().double().sum().item())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", backward)
    return recorded


def models():
    teacher = fill_(registry.get_model("wrn16_1", num_classes=10), 0.0).eval()
    student = fill_(registry.get_model("resnet8", num_classes=10), 0.5).eval()
    return teacher, student


def common():
    return dict(num_classes=10, img_shape=(3, 32, 32), normalizer=Normalizer(MEAN, STD), device=CPU,
                synthesis_batch_size=B, batch_size=B)


def run(synth, recorded, seed=SEED):
    recorded.clear()
    torch.manual_seed(seed)
    synth.synthesize()
    return list(recorded)


def fast(method, **kw):
    teacher, student = models()
    generator = fill_(Generator(nz=NZ, ngf=NGF, img_size=32, nc=3), 0.25)
    args = dict(nz=NZ, g_steps=2, lr_g=5e-3, lr_z=0.015, adv=1.1, bn=10.0, oh=0.4, bn_mmt=0.9, warmup=0, is_maml=1)
    args.update(kw)
    if method == "fast":
        args.pop("is_maml")
    synth = SYNTHESIZERS[method](teacher, student, generator, **common(), **args)
    synth.augment = synth.normalizer      # the reference's crop + flip, made the identity on both sides
    return synth


@pytest.mark.parametrize("method", ["fast", "fast_meta"])
def test_fast_losses_terms_and_generator_match_the_reference(method, losses):
    ref = REF[method]
    synth = fast(method)
    for got, want in zip(run(synth, losses), ref["full_steps"]):
        close(got, want)
    for got, want in zip(run(synth, losses, SEED + 1), ref["full_steps_call2"]):   # the BN momentum in use
        close(got, want)
    close_params(synth.generator.state_dict().values(), ref["generator"])
    weights = {"bn": dict(adv=0, oh=0, bn=1), "oh": dict(adv=0, bn=0, oh=1), "adv": dict(bn=0, oh=0, adv=1)}
    for term, kw in weights.items():
        close(run(fast(method, **kw), losses)[0], ref[f"term_{term}"])


def test_reptile_meta_step_matches_the_reference(losses):
    synth = fast("fast_meta", is_maml=0)
    run(synth, losses)
    close_params(synth.generator.state_dict().values(), REF["fast_meta"]["reptile_generator"])


def test_reset_l0_matches_the_reference():
    generator = fill_(Generator(nz=NZ, ngf=NGF, img_size=32, nc=3), 0.25)
    torch.manual_seed(SEED)
    generator.reset_l0()
    for name, value in generator.state_dict().items():
        for a, b in zip(checksums([value])[0], REF["reset_l0"][name]):
            close(a, b)


def deepinv(**kw):
    teacher, student = models()
    args = dict(g_steps=1, lr_g=0.1, adv=1.0, bn=10.0, oh=1.0, tv=0.0, l2=0.0)
    args.update(kw)
    synth = SYNTHESIZERS["deepinv"](teacher, student, **common(), **args)
    synth.jitter = lambda v: v
    return synth


def test_deepinversion_terms_match_the_reference(losses):
    ref = REF["deepinv"]
    synth = deepinv()
    parts = {}
    real = synth.step_loss
    synth.step_loss = lambda v, t: (lambda out: (parts.update(out[1]), out)[1])(real(v, t))
    close(run(synth, losses)[0], ref["full"])
    close(parts["loss_bn"].item(), ref["teacher_bn"])
    close(parts["loss_bn_student"].item(), ref["student_bn"])       # subtracted x 0.001
    close(run(deepinv(bn=0, oh=0), losses)[0], ref["adv_only"])        # -JS at T=3
    close(run(deepinv(bn=0, oh=1), losses)[0], ref["adv_oh"])
    close(run(deepinv(bn=0, oh=0, tv=1.0), losses)[0], ref["adv_tv"])
    close(run(deepinv(bn=0, oh=0, l2=1.0), losses)[0], ref["adv_l2"])


def cmi(**kw):
    teacher, student = models()
    generator = fill_(Generator(nz=NZ, ngf=NGF, img_size=32, nc=3), 0.25)
    args = dict(nz=NZ, g_steps=1, lr_g=1e-3, adv=0.5, bn=1.0, oh=1.0, cr=0.8, cr_T=0.2, bank_size=16, n_neg=8,
                head_dim=8)
    args.update(kw)
    synth = SYNTHESIZERS["cmi"](teacher, student, generator, **common(), **args)
    fill_(synth.head, 0.75)
    synth.views = lambda x: (synth.normalizer(x), synth.normalizer(x.flip(3)))
    return synth


def test_cmi_losses_bank_and_head_match_the_reference(losses):
    ref = REF["cmi"]
    synth = cmi()
    assert synth.bank.data.shape[1] == 2 * 464        # inputs of every BatchNorm2d of wrn16_1, local + global
    close(run(synth, losses)[0], ref["full_call1"])
    close(run(synth, losses, SEED + 1)[0], ref["full_call2"])   # one batch in the memory bank
    for a, b in zip(checksums([synth.bank.data[:B]])[0], ref["bank"][0]):
        close(a, b)
    close_params(synth.head.state_dict().values(), ref["head"])
    synth = cmi(bn=0, oh=0, adv=0, cr=1.0)
    close(run(synth, losses)[0], ref["cr_call1"])
    close(run(synth, losses, SEED + 1)[0], ref["cr_call2"])
    for term, kw in {"bn": dict(adv=0, oh=0, cr=0), "oh": dict(adv=0, bn=0, cr=0),
                     "adv": dict(bn=0, oh=0, cr=0, adv=1.0)}.items():
        close(run(cmi(**kw), losses)[0], ref[f"term_{term}"])


ONLINE_WEIGHTS = {"dafl": dict(oh=1, act=0.001, balance=20), "zskt": dict(adv=1),
                  "dfq": dict(adv=1, bn=1, oh=1, balance=20), "dfad": dict(adv=1)}


def online(method, **weights):
    teacher, student = models()
    nz = 2 * NZ if method == "dafl" else NZ
    generator = fill_(LargeGenerator(nz=nz, ngf=NGF, img_size=32, nc=3), 0.25)
    return SYNTHESIZERS[method](teacher, student, generator, nz=nz, g_steps=1, lr_g=1e-3, **common(), **weights)


@pytest.mark.parametrize("method", sorted(ONLINE_WEIGHTS))
def test_online_losses_terms_generator_and_samples_match_the_reference(method, losses):
    ref = REF[method]
    synth = online(method, **ONLINE_WEIGHTS[method])
    close(run(synth, losses)[0], ref["total"])
    close_params(synth.generator.state_dict().values(), ref["generator"])
    torch.manual_seed(SEED + 7)
    for a, b in zip(checksums([synth.sample()])[0], ref["sample"][0]):   # drawn in eval mode
        close(a, b)
    for term in ("adv", "bn", "oh", "act", "balance"):
        close(run(online(method, **{term: 1.0}), losses)[0], ref[f"term_{term}"])


@pytest.mark.parametrize("method,T", [("fast", 20.0), ("dafl", 20.0), ("dfad", 20.0)])
def test_one_kd_step_matches_the_reference(method, T, losses):
    """fast: KL at --T 20; dafl: KL at T=1 although --T says 20; dfad: L1 on logits."""
    teacher, student = models()
    images = Normalizer(MEAN, STD)(fixed_images(8))
    optimizer = torch.optim.SGD(student.parameters(), 0.2, weight_decay=1e-4, momentum=0.9)
    losses.clear()
    kd_step(student, teacher, images, optimizer, Precision(CPU, False), T=T,
            loss_fn=SYNTHESIZERS[method].student_loss)
    ref = REF["kd_step"][method]
    close(losses[0], ref["loss"])
    close_params(student.state_dict().values(), ref["student"])
