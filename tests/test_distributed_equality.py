"""torchrun with two CPU processes (gloo) computes what one process computes, for every method.

Each method runs 2 epochs (a synthesis, then 10 KD steps, twice) at global batch 16 / synthesis batch 8 and seed 0,
once as one process and once as two ranks of 8 / 4 rows (tests/dist_equality.py). Where randomness is drawn so that
the two can agree: every rank seeds each epoch alike and draws every random tensor of a batch (latent codes,
pixels, targets, augmentation, pool order, CMI's bank rows, re-initialisations) for the whole batch, then keeps its
rows (engine.global_batch), so both runs draw the same numbers in the same order. Compared within 1e-5 relative:
every loss term of every synthesis call, the loss at every step of the first call, the generator after the first
call and at the end, the student after the first KD step and at the end; the two ranks must hold the same
weights. The runs are in float64: in float32, sums over ranks round differently from one sum (as 1 and 2 threads
of one process do), and Adam's first steps, which move every coordinate by about +-lr whatever the size of its
gradient, turn that rounding into parameter differences of ~1e-3 (measured); in float64 the two runs agree to
~1e-14. The KD steps stay few (10 per epoch): the student's SGD at lr 0.1 and T 20 amplifies any difference by
~1.8x per step, so over 40 steps the ranks' 3.6e-14 rounding difference grows to 3.6e-4, exactly as a 3e-14
perturbation of the student does in one process (measured, fast: 3e-14 -> 2.1e-4 in 40 steps; no jump at any step,
as a bug would give). A run whose teacher BN-statistic loss uses each rank's own rows must fail the comparison."""
import os
import subprocess
import sys

import pytest
import torch
from dist_equality import METHOD_FLAGS

from helpers import tiny_teacher_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER = os.path.join(ROOT, "tests", "dist_equality.py")
RTOL = 1e-5
# the adversarial term is masked to the samples where the student agrees with the teacher
MASKED_ADVERSARIAL = ("fast_meta", "fast_meta-reptile", "fast", "fast_meta_imagenet", "cmi", "nayer")


def launch(tmp, nproc, teacher, methods, env=None):
    dump = tmp / f"dump{nproc}"
    dump.mkdir()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           LAUNCHER, str(dump), teacher, str(tmp / f"runs{nproc}"), *methods]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT, **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [torch.load(dump / f"rank{r}.pt") for r in range(nproc)]


def relative(a, b):
    return abs(a - b) / max(abs(a), 1e-12)


def differences(one, two):
    """What differs by more than RTOL between a one-process record and a rank's record of the same method."""
    out = []
    if len(one["losses"]) != len(two["losses"]) or len(one["step_losses"]) != len(two["step_losses"]):
        return ["a different number of synthesis calls or steps"]
    for call, (a, b) in enumerate(zip(one["losses"], two["losses"], strict=True)):
        if a.keys() != b.keys():
            out.append(f"call {call}: terms {sorted(a)} vs {sorted(b)}")
        out += [f"call {call}: {k} {a[k]:.10g} vs {b[k]:.10g}" for k in a.keys() & b.keys()
                if relative(a[k], b[k]) > RTOL]
    steps = zip(one["step_losses"], two["step_losses"], strict=True)
    out += [f"first call, step {i}: loss {a:.10g} vs {b:.10g}"
            for i, (a, b) in enumerate(steps) if relative(a, b) > RTOL]
    for key in ("generator_first_call", "generator", "student_first_step", "student"):
        for name, p in one.get(key, {}).items():
            rel = ((p - two[key][name]).norm() / p.norm().clamp_min(1e-12)).item()
            if rel > RTOL:
                out.append(f"{key}.{name}: relative difference {rel:.2e}")
    return out


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("equality")
    teacher = tiny_teacher_checkpoint(tmp / "fmnist_resnet8.pth")
    methods = list(METHOD_FLAGS)
    return launch(tmp, 1, teacher, methods)[0], launch(tmp, 2, teacher, methods), teacher, tmp


@pytest.mark.parametrize("method", list(METHOD_FLAGS))
def test_two_ranks_compute_what_one_process_computes(records, method):
    one, two, _, _ = records
    assert len(one[method]["losses"]) >= 2 and one[method]["student_first_step"]
    assert differences(one[method], two[0][method]) == []
    for key in ("student", "generator"):   # the ranks hold the same weights
        for name, p in two[0][method].get(key, {}).items():
            assert torch.equal(p, two[1][method][key][name]), f"{key}.{name}"
    # the adversarial term is on and non-zero (the comparison covers it); the masked ones need a student that
    # already agrees with the teacher on some samples: checked over all of them below
    adv = [call["loss_adv"] for call in one[method]["losses"] if "loss_adv" in call]
    if "--adv" in METHOD_FLAGS[method] and method not in MASKED_ADVERSARIAL:
        assert any(abs(v) > 1e-6 for v in adv), adv


def test_the_masked_adversarial_term_is_compared_non_zero(records):
    one = records[0]
    values = {m: [call.get("loss_adv", 0.0) for call in one[m]["losses"]] for m in MASKED_ADVERSARIAL}
    assert any(abs(v) > 1e-6 for vs in values.values() for v in vs), values


def test_bn_statistics_per_shard_fail_the_comparison(records):
    """The check can fail: the teacher's BN-statistic loss from each rank's own rows (per-shard statistics) is not
    the one-process loss, and what follows from it differs too."""
    one, _, teacher, tmp = records
    (tmp / "per_shard").mkdir()
    per_shard = launch(tmp / "per_shard", 2, teacher, ["fast_meta"], env={"PER_SHARD_BN_STATS": "1"})
    found = differences(one["fast_meta"], per_shard[0]["fast_meta"])
    assert any("loss_bn" in line for line in found), found
    assert any(line.startswith("generator.") for line in found), found
