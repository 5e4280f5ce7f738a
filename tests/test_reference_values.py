"""Every method's synthesis loss, its terms, its parameter updates and the KD step against numbers computed by the
reference code on the same tensors.

The numbers in tests/fixtures/reference_values.json are made by tests/reference/make_reference_values.py, whose
docstring says how to run it (checkouts of zju-vipa/Fast-Datafree at commit 0dcecbc and zju-vipa/CMI at commit
9e79fa9, a scratch environment with kornia, one command). It imports the reference code unmodified: Fast-Datafree
for fast, fast_meta, reset_l0, DeepInversion and the KD step of its datafree_kd.train; CMI for CMI and its
GenerativeSynthesizer for DAFL, ZSKT, DFQ and DFAD, with the student passed as in its datafree_kd.py. `.cuda()` is
a no-op there, their DataLoader/PNG side effects are kept out of the way, and three random augmentations are
replaced by deterministic ones that the tests below replace identically (crop+flip -> identity, CMI's local view ->
a horizontal flip, DeepInversion's jitter -> identity). The models are the reference's wrn_16_1 (teacher) and
resnet8 (student) and its Generator / LargeGenerator (nz 16, ngf 8, 32x32x3), every floating-point entry of their
state_dicts set by `fill_`; `fill_`, the salts, the images, `checksums`, the seeds and every setting of the runs
come from tests/reference/common.py, which both sides import, so they cannot drift apart (state_dict entries are
taken in sorted-name order, and both code bases use the same names). Each synthesize() call is preceded by
torch.manual_seed(1234) (a second call by 1235), so z, targets and CMI's per-batch re-initialisation draw the same
numbers here and there. A step's total loss is recorded at its `.backward()`; a single term as the total loss of a
run with only that weight set to 1 (DeepInversion cannot run without its adversarial term: its other terms are runs
with adv 1 plus that term, and its BN terms are read from its hooks); parameters as `checksums` (sum, sum of
squares, sum weighted by sin(0.731 i)).

Regenerated 2026-12-01 (torch 2.14.1, CPU, float32) with the committed script, from new inputs: the student's
fill_ salt is 0.9 (was 0.5). With 0.5 the student's argmax agreed with the teacher's on none of the 4 samples, so
the adversarial term of fast, fast_meta and CMI (a KL masked to the samples where they agree) was exactly 0 and a
missing or wrong adversarial term went unnoticed; now they agree on 1 of the 4 samples of the first step in fast,
fast_meta and CMI, and every recorded term is non-zero (test_every_recorded_term_is_nonzero; why 0.9: see
tests/reference/common.py). The earlier values (2026-11-25) were made the same way by a script that was not
committed; the committed script, run with salt 0.5, reproduces them within the tolerance below.

Tolerance: 1e-5 relative (plus 1e-6 absolute for values near zero) for losses; parameter checksums after Adam steps
get 2e-4 absolute on top: Adam moves every element by about lr whatever its gradient's size, so an element whose
gradient is at float-noise level (|g| ~ 1e-8) can move differently in two correct float32 implementations, while a
wrong gradient moves thousands of elements (~lr * sqrt(n), 1e-2 or more, off)."""
import json
import os

import pytest
import torch
from reference import common as inputs

import registry
from datafree.synthesis import SYNTHESIZERS
from datafree.synthesis.augment import Normalizer
from datafree.synthesis.generator import Generator, LargeGenerator
from engine.device import Precision
from engine.train import kd_step

REF = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "reference_values.json")))
CPU = torch.device("cpu")


def close(actual, expected):
    assert actual == pytest.approx(expected, rel=1e-5, abs=1e-6)


def close_all(actual, expected):
    """Element-wise `close`, after checking that nothing is missing on either side."""
    assert len(actual) == len(expected), f"{len(actual)} values, the reference has {len(expected)}"
    for got, want in zip(actual, expected, strict=True):
        close(got, want)


def close_sums(tensors, expected):
    """`checksums` of tensors that no optimizer step moved element by element (features, samples), at the losses'
    tolerance."""
    got = inputs.checksums(tensors)
    assert len(got) == len(expected), f"{len(got)} tensors, the reference has {len(expected)}"
    for sums, want in zip(got, expected, strict=True):
        close_all(sums, want)


def close_params(tensors, expected):
    got = inputs.checksums(tensors)
    assert len(got) == len(expected), f"{len(got)} tensors, the reference has {len(expected)}"
    for sums, want in zip(got, expected, strict=True):
        assert len(sums) == len(want)
        assert sums == pytest.approx(want, rel=1e-5, abs=2e-4)


@pytest.fixture
def losses(monkeypatch):
    """The total loss of every backward() call, as the reference values were recorded."""
    return inputs.record_backward(monkeypatch.setattr)


def test_every_recorded_term_is_nonzero():
    """A term recorded as exactly 0 could not tell a correct term from a missing one (as the masked adversarial
    term once could not)."""
    terms = {f"{m}.{k}": v for m, entries in REF.items() if not m.startswith("_")
             for k, v in entries.items() if isinstance(v, float)}
    terms.update({f"{m}.{k}[{i}]": v for m in ("fast", "fast_meta") for k in ("full_steps", "full_steps_call2")
                  for i, v in enumerate(REF[m][k])})
    terms.update({f"kd_step.{m}.loss": v["loss"] for m, v in REF["kd_step"].items()})
    assert len(terms) > 50
    assert [name for name, v in terms.items() if v == 0.0] == []


def models():
    teacher = inputs.fill_(registry.get_model("wrn16_1", num_classes=inputs.NUM_CLASSES), inputs.TEACHER_SALT).eval()
    student = inputs.fill_(registry.get_model("resnet8", num_classes=inputs.NUM_CLASSES), inputs.STUDENT_SALT).eval()
    return teacher, student


def generator(cls=Generator, nz=inputs.NZ):
    model = cls(nz=nz, ngf=inputs.NGF, img_size=inputs.IMG_SHAPE[-1], nc=inputs.IMG_SHAPE[0])
    return inputs.fill_(model, inputs.GENERATOR_SALT)


def common():
    return dict(num_classes=inputs.NUM_CLASSES, img_shape=inputs.IMG_SHAPE, device=CPU,
                normalizer=Normalizer(inputs.MEAN, inputs.STD), synthesis_batch_size=inputs.B, batch_size=inputs.B)


def run(synth, recorded, seed=inputs.SEED):
    recorded.clear()
    torch.manual_seed(seed)
    synth.synthesize()
    return list(recorded)


def fast(method, **kw):
    teacher, student = models()
    args = dict(nz=inputs.NZ, **inputs.FAST)
    args.update(kw)
    if method == "fast":
        args.pop("is_maml")
    synth = SYNTHESIZERS[method](teacher, student, generator(), **common(), **args)
    synth.augment = synth.normalizer      # the reference's crop + flip, made the identity on both sides
    return synth


@pytest.mark.parametrize("method", ["fast", "fast_meta"])
def test_fast_losses_terms_and_generator_match_the_reference(method, losses):
    ref = REF[method]
    synth = fast(method)
    close_all(run(synth, losses), ref["full_steps"])
    close_all(run(synth, losses, inputs.SEED + 1), ref["full_steps_call2"])   # the BN momentum in use
    close_params(synth.generator.state_dict().values(), ref["generator"])
    for term, kw in inputs.FAST_TERMS.items():
        close(run(fast(method, **kw), losses)[0], ref[f"term_{term}"])


def test_reptile_meta_step_matches_the_reference(losses):
    synth = fast("fast_meta", is_maml=0)
    run(synth, losses)
    close_params(synth.generator.state_dict().values(), REF["fast_meta"]["reptile_generator"])


def test_reset_l0_matches_the_reference():
    g = generator()
    torch.manual_seed(inputs.SEED)
    g.reset_l0()
    state = g.state_dict()
    assert list(state) == list(REF["reset_l0"])
    for name, value in state.items():
        close_all(inputs.checksums([value])[0], REF["reset_l0"][name])


def deepinv(**kw):
    teacher, student = models()
    args = dict(inputs.DEEPINV)
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
    for name, kw in inputs.DEEPINV_RUNS.items():     # adv_only: -JS at T=3; adv_oh, adv_tv, adv_l2: plus that term
        close(run(deepinv(**kw), losses)[0], ref[name])


def cmi(**kw):
    teacher, student = models()
    args = dict(nz=inputs.NZ, **inputs.CMI)
    args.update(kw)
    synth = SYNTHESIZERS["cmi"](teacher, student, generator(), **common(), **args)
    inputs.fill_(synth.head, inputs.HEAD_SALT)
    synth.views = lambda x: (synth.normalizer(x), synth.normalizer(x.flip(3)))
    return synth


def test_cmi_losses_bank_and_head_match_the_reference(losses):
    ref = REF["cmi"]
    synth = cmi()
    assert synth.bank.data.shape[1] == 2 * 464        # inputs of every BatchNorm2d of wrn16_1, local + global
    close(run(synth, losses)[0], ref["full_call1"])
    close(run(synth, losses, inputs.SEED + 1)[0], ref["full_call2"])   # one batch in the memory bank
    close_sums([synth.bank.data[:inputs.B]], ref["bank"])
    close_params(synth.head.state_dict().values(), ref["head"])
    synth = cmi(**inputs.CMI_CR_ONLY)
    close(run(synth, losses)[0], ref["cr_call1"])
    close(run(synth, losses, inputs.SEED + 1)[0], ref["cr_call2"])
    for term, kw in inputs.CMI_TERMS.items():
        close(run(cmi(**kw), losses)[0], ref[f"term_{term}"])


def online(method, **weights):
    teacher, student = models()
    nz = inputs.online_nz(method)
    return SYNTHESIZERS[method](teacher, student, generator(LargeGenerator, nz), nz=nz, **inputs.ONLINE, **common(),
                                **weights)


@pytest.mark.parametrize("method", sorted(inputs.ONLINE_WEIGHTS))
def test_online_losses_terms_generator_and_samples_match_the_reference(method, losses):
    ref = REF[method]
    synth = online(method, **inputs.ONLINE_WEIGHTS[method])
    close(run(synth, losses)[0], ref["total"])
    close_params(synth.generator.state_dict().values(), ref["generator"])
    torch.manual_seed(inputs.SAMPLE_SEED)
    close_sums([synth.sample()], ref["sample"])   # drawn in eval mode
    for term in inputs.ONLINE_TERMS:
        close(run(online(method, **{term: 1.0}), losses)[0], ref[f"term_{term}"])


@pytest.mark.parametrize("method,T", list(inputs.KD_TEMPERATURES.items()))
def test_one_kd_step_matches_the_reference(method, T, losses):
    """fast: KL at --T 20; dafl: KL at T=1 although --T says 20; dfad: L1 on logits."""
    teacher, student = models()
    images = Normalizer(inputs.MEAN, inputs.STD)(inputs.fixed_images(inputs.KD_BATCH))
    optimizer = torch.optim.SGD(student.parameters(), inputs.KD_LR, weight_decay=inputs.KD_WEIGHT_DECAY,
                                momentum=inputs.KD_MOMENTUM)
    losses.clear()
    kd_step(student, teacher, images, optimizer, Precision(CPU, False), T=T,
            loss_fn=SYNTHESIZERS[method].student_loss)
    ref = REF["kd_step"][method]
    assert len(losses) == 1
    close(losses[0], ref["loss"])
    close_params(student.state_dict().values(), ref["student"])
