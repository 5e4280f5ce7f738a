"""Test-only torchrun entry point: every method's short data-free run, recorded for comparison across world sizes.

    torchrun --standalone --nproc_per_node {1|2} tests/dist_equality.py DUMP_DIR TEACHER_CKPT RUN_DIR METHOD...

For each METHOD, datafree_kd.main runs 2 epochs (a synthesis, then 10 KD steps, twice: by the second synthesis
the student agrees with the teacher on some samples, so the masked adversarial terms are non-zero) on generated
1x32x32 data, in float64, with the same global batch sizes and seed at every world size. Rank r writes
DUMP_DIR/rank{r}.pt: {method: {"losses": [{part: value} per synthesis call], "step_losses": [the first call's
loss at every step], "generator_first_call", "student_first_step", "generator", "student": {name: tensor}}}
(run_method says when each is taken).
With PER_SHARD_BN_STATS=1 the teacher's BN-statistic hooks use each rank's own rows (the bug the test must catch).
The project root must be on PYTHONPATH."""
import os
import sys

import torch
from torch.utils.data import TensorDataset

import datafree_kd
import registry
from datafree import distill
from datafree.synthesis import base, hooks
from engine import distributed
from helpers import make_blobs

# Loss weights: every term of every method on (the reference scripts' weights where a method needs some);
# METHOD-VARIANT runs METHOD with the variant's flags.
METHOD_FLAGS = {
    "fast_meta": ["--adv", "0.5", "--bn", "1", "--oh", "0.5", "--bn_mmt", "0.9", "--reset_l0", "1",
                  "--reset_bn", "1", "--reset_l0_epoch", "1"],
    "fast_meta-reptile": ["--is_maml", "0", "--reptile_scale", "1", "--adv", "0.5", "--bn", "1", "--oh", "0.5"],
    "fast": ["--adv", "0.5", "--bn", "1", "--oh", "0.5", "--bn_mmt", "0.9"],
    # 4 calls: the latent code carried over from call to call, re-drawn at the third (its resized-crop views and
    # last-step pool batch are the method's defaults)
    "fast_meta_imagenet": ["--adv", "0.5", "--bn", "1", "--oh", "0.5", "--bn_mmt", "0.9", "--reinit", "3",
                           "--lr_g_meta", "1e-3", "--ep_steps", "20"],
    "deepinv": ["--adv", "1", "--bn", "1", "--oh", "1", "--tv", "0.001", "--l2", "1e-5", "--lr_g", "0.05"],
    "cmi": ["--adv", "0.5", "--bn", "1", "--oh", "0.5", "--cr", "0.8", "--cr_T", "0.2"],
    "dafl": ["--oh", "1", "--act", "0.001", "--balance", "20"],
    "zskt": ["--adv", "1"],
    "dfq": ["--adv", "1", "--bn", "1", "--oh", "1", "--balance", "20"],
    "dfad": ["--adv", "1"],
    "nayer": ["--adv", "0.5", "--bn", "1", "--oh", "0.5", "--g_loops", "2", "--g_life", "1"],
    "noise": [],
}


def fake_get_dataset(name, data_root="data", in_memory=False):
    """Generated 1x32x32 data reported as 'fmnist' (as tests/dist_launcher.py), in float64 as everything here."""
    def double(data):
        return TensorDataset(data.tensors[0].double(), data.tensors[1])
    return 10, double(make_blobs(256, seed=0)), double(make_blobs(64, seed=1))


def per_shard_mean_var(x, dims):
    var, mean = torch.var_mean(x, dim=dims, unbiased=False)
    return mean, var, x.numel() // x.shape[1]


def flags(method, teacher, save_dir):
    return ["--method", method.split("-")[0], "--teacher", "resnet8", "--student", "resnet8", "--dataset", "fmnist",
            "--teacher_ckpt", teacher, "--epochs", "2", "--warmup", "0", "--batch_size", "16",
            "--synthesis_batch_size", "8", "--kd_steps", "10", "--ep_steps", "10", "--g_steps", "3", "--ngf", "8",
            "--lr", "0.1", "--lr_g", "1e-3", "--lr_z", "0.01", "--T", "20", "-j", "0", "--seed", "0",
            "--save_dir", save_dir, "--dist_backend", "gloo", *METHOD_FLAGS[method]]


def snapshot(module):
    return {n: p.detach().cpu().clone() for n, p in module.named_parameters()}


def run_method(method, teacher, run_dir):
    """Runs METHOD; returns its loss terms per synthesis call, the loss at every step of the first call (seen by
    the kept-batch tracker), the generator right after the first call, the student right after the first KD step,
    and both at the end."""
    held = {"losses": [], "step_losses": []}
    real_wrap, real_kd_step = datafree_kd.wrap_ddp, distill.kd_step
    real_updates = {cls: cls.update for cls in base.KEPT_BATCH.values()}

    def remember_student(model, device):
        held["student"] = model
        return real_wrap(model, device)

    def first_kd_step(*args, **kwargs):
        loss = real_kd_step(*args, **kwargs)
        held.setdefault("student_first_step", snapshot(held["student"]))
        return loss

    def step_loss(kept, loss, x):
        if not held["losses"]:   # the first call
            held["step_losses"].append(float(loss))
        return real_updates[type(kept)](kept, loss, x)

    def record(synth):
        held["synthesizer"], synthesize = synth, synth.synthesize

        def recorded():
            info = synthesize()
            held["losses"].append({k: float(v) for k, v in info.items() if k.startswith("loss")})
            if hasattr(synth, "generator"):
                held.setdefault("generator_first_call", snapshot(synth.generator))
            return info
        synth.synthesize = recorded

    datafree_kd.wrap_ddp, distill.kd_step = remember_student, first_kd_step
    for cls in real_updates:
        cls.update = step_loss
    try:
        datafree_kd.main(flags(method, teacher, os.path.join(run_dir, method)), synthesizer_hook=record)
    finally:
        datafree_kd.wrap_ddp, distill.kd_step = real_wrap, real_kd_step
        for cls, update in real_updates.items():
            cls.update = update
    out = {k: held[k] for k in ("losses", "step_losses", "student_first_step")}
    out["student"] = snapshot(held["student"])
    if hasattr(held["synthesizer"], "generator"):
        out["generator"] = snapshot(held["synthesizer"].generator)
        out["generator_first_call"] = held["generator_first_call"]
    return out


def main():
    dump_dir, teacher, run_dir, methods = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    registry.get_dataset = fake_get_dataset
    # float64: float32 rounding (which differs between one sum and a sum over ranks, as between 1 and 2 threads)
    # would be amplified past any tolerance by Adam's first steps, which move every coordinate by about +-lr
    # whatever the size of its gradient; in float64 the same code and flags compare at 1e-5 after whole epochs.
    torch.set_default_dtype(torch.float64)
    if os.environ.get("PER_SHARD_BN_STATS") == "1":
        hooks.mean_var = per_shard_mean_var
    cleanup, distributed.cleanup = distributed.cleanup, lambda: None   # one process group for every method
    dump = {method: run_method(method, teacher, run_dir) for method in methods}
    torch.save(dump, os.path.join(dump_dir, f"rank{os.environ.get('RANK', '0')}.pt"))
    cleanup()


if __name__ == "__main__":
    main()
