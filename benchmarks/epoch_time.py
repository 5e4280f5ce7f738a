"""Time of one Fast-2 (or NAYER) epoch (WRN-40-2 -> WRN-16-1, 3x32x32) split into synthesis, pool/augmentation
and KD, next to the floor (the same KD steps on one batch already in memory), for each code path in one run:

    old       the previous default: the synthesis teacher itself under no_grad, per-parameter SGD, fp32, NCHW
    new       the frozen teacher (BatchNorm folded, channels_last, inference_mode), foreach/fused SGD, and the
              --fp16/--bf16/--channels_last given here
    compiled  new + torch.compile of the frozen teacher and the student (compile seconds reported apart)

    python -m benchmarks.epoch_time --channels_last --paths old,new,compiled     # CPU: batch 256, 400 KD steps
    python -m benchmarks.epoch_time --kd_steps 100                               # quicker look
    python -m benchmarks.epoch_time --methods fast_meta,nayer --paths new        # NAYER's row next to Fast-2's

NAYER's row runs its CIFAR-10 script's synthesis (--nayer_g_steps 30 steps x --g_loops 2 loops, the CIFAR-10 CLIP
class embeddings) at the same batch; `synthesis_step_ms` is the synthesis time over its steps, for both methods.
"""
import argparse
import sys
import time

import torch

import registry
from benchmarks.common import print_table, write_results
from datafree.distill import distill_epoch
from datafree.synthesis import FastMetaSynthesizer, Generator, NayerSynthesizer
from datafree.synthesis.augment import Normalizer
from datafree.synthesis.embeddings import class_embeddings
from datafree.synthesis.generator import NoisyLayerGenerator
from engine.device import Precision
from engine.inference import FrozenTeacher, compile_student_step
from engine.train import fast_optimizer_kwargs, kd_step

PATHS = ("old", "new", "compiled")
EPOCHS_PER_RUN = 220   # the CIFAR schedule: compile time is paid once per run


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--kd_steps", type=int, default=400)
    p.add_argument("--g_steps", type=int, default=2, help="fast_meta's synthesis steps per epoch")
    p.add_argument("--methods", default="fast_meta", help="comma-separated, from fast_meta, nayer")
    p.add_argument("--nayer_g_steps", type=int, default=30, help="NAYER's steps per loop (its CIFAR-10 scripts)")
    p.add_argument("--g_loops", type=int, default=2, help="NAYER's loops per epoch")
    p.add_argument("--teacher", default="wrn40_2")
    p.add_argument("--student", default="wrn16_1")
    p.add_argument("--paths", default="old,new", help=f"comma-separated, from {', '.join(PATHS)}")
    p.add_argument("--fp16", action="store_true",
                   help="mixed precision for new/compiled: fp16 with loss scaling on CUDA")
    p.add_argument("--bf16", action="store_true", help="with --fp16 on CUDA: bfloat16 instead of float16")
    p.add_argument("--channels_last", action="store_true", help="channels_last student for new/compiled")
    p.add_argument("--warm_epochs", type=int, default=1, help="untimed epochs first (fills the pool, warms up)")
    p.add_argument("--name", default=None, help="results/<name>.json (default: epoch_time_<device>)")
    return p


def make_synthesizer(method, args, teacher, student, device, precision):
    common = dict(num_classes=10, img_shape=(3, 32, 32), normalizer=Normalizer(**registry.NORMALIZE_DICT["cifar10"]),
                  device=device, synthesis_batch_size=args.batch_size, batch_size=args.batch_size, bn=10,
                  bn_mmt=0.9, warmup=0, autocast_dtype=precision.unscaled_dtype)
    if method == "nayer":
        emb = class_embeddings("cifar10", "cifar10", 10, teacher)
        return NayerSynthesizer(teacher, student, NoisyLayerGenerator(emb, args.batch_size), g_steps=args.nayer_g_steps,
                                lr_g=4e-3, g_loops=args.g_loops, adv=1.33, oh=0.5, **common)
    return FastMetaSynthesizer(teacher, student, Generator(nz=256, ngf=64, img_size=32, nc=3), nz=256,
                               g_steps=args.g_steps, lr_g=5e-3, lr_z=0.015, adv=1.1, oh=0.4, **common)


def synthesis_steps(method, args):
    return args.nayer_g_steps * args.g_loops if method == "nayer" else args.g_steps


def measure(method, path, args, device):
    """One row: the epoch, its parts and the floor for one code path, from the same seed and weights."""
    old = path == "old"
    torch.manual_seed(0)
    fmt = torch.channels_last if (args.channels_last and not old) else torch.contiguous_format
    teacher = registry.get_model(args.teacher, num_classes=10).to(device, memory_format=fmt).eval()
    teacher.requires_grad_(False)
    student = registry.get_model(args.student, num_classes=10).to(device, memory_format=fmt)
    precision = Precision(device, False if old else ("bf16" if args.bf16 else True) if args.fp16 else False)
    synth = make_synthesizer(method, args, teacher, student, device, precision)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-4,
                                **({} if old else fast_optimizer_kwargs(device)))
    kd_teacher, kd_student, compile_s = teacher, student, 0.0
    if not old:
        example = torch.zeros(args.batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt)
        kd_teacher = FrozenTeacher(teacher, compile=path == "compiled")
        if path == "compiled":
            compile_s = kd_teacher.warm_up(example)
        kd_student, student_compile_s = compile_student_step(student, example, path == "compiled")
        compile_s += student_compile_s

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warm_epochs):
        distill_epoch(synth, kd_student, kd_teacher, optimizer, precision, 5, 5, T=20)

    sync(device)
    t0 = time.time()
    epoch = distill_epoch(synth, kd_student, kd_teacher, optimizer, precision, args.kd_steps, args.kd_steps, T=20)
    sync(device)
    epoch_seconds = time.time() - t0

    t0 = time.time()
    for _ in range(args.kd_steps):
        synth.sample()
    sync(device)
    pool_seconds = time.time() - t0

    batch = synth.sample()
    sync(device)
    t0 = time.time()
    for _ in range(args.kd_steps):
        kd_step(kd_student, kd_teacher, batch, optimizer, precision, T=20)
    sync(device)
    floor_seconds = time.time() - t0
    return {"method": method, "path": path, "device": device.type, "batch": args.batch_size, "kd_steps": args.kd_steps,
            "synthesis_steps": synthesis_steps(method, args), "synthesis_s": round(epoch["synthesis_seconds"], 2),
            "synthesis_step_ms": round(1000 * epoch["synthesis_seconds"] / synthesis_steps(method, args), 1),
            "pool_aug_s": round(pool_seconds, 2), "kd_s": round(epoch["kd_seconds"] - pool_seconds, 2),
            "epoch_s": round(epoch_seconds, 2), "floor_s": round(floor_seconds, 2),
            "epoch/floor": round(epoch_seconds / floor_seconds, 3),
            "kd_step_ms": round(1000 * floor_seconds / args.kd_steps, 1), "compile_s": round(compile_s, 1),
            "epoch_with_compile_s": round(epoch_seconds + compile_s / EPOCHS_PER_RUN, 2),
            "precision": "fp32" if old else ("bf16" if args.bf16 else "fp16") if args.fp16 else "fp32",
            "channels_last": bool(args.channels_last and not old),
            "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None}


def main():
    args = build_parser().parse_args()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        sys.exit(f"error: unknown --paths {', '.join(unknown)}: choose from {', '.join(PATHS)}")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if set(methods) - {"fast_meta", "nayer"}:
        sys.exit(f"error: unknown --methods {args.methods}: choose from fast_meta, nayer")
    rows = [measure(method, path, args, device) for method in methods for path in paths]
    for r in rows:
        base = next((b for b in rows if b["path"] == "old" and b["method"] == r["method"]), None)
        r["speedup_vs_old"] = round(base["epoch_s"] / r["epoch_with_compile_s"], 2) if base else None
    print_table(rows, ["method", "path", "precision", "channels_last", "synthesis_s", "synthesis_step_ms",
                       "pool_aug_s", "kd_s", "epoch_s", "floor_s", "epoch/floor", "kd_step_ms", "compile_s",
                       "epoch_with_compile_s", "speedup_vs_old", "peak_gpu_mib"])
    print(f"speedup_vs_old: old epoch seconds / (epoch seconds + compile seconds / {EPOCHS_PER_RUN} epochs)")
    write_results(args.name or f"epoch_time_{device.type}", {"args": vars(args), "rows": rows,
                                                             "result": rows[-1]})


if __name__ == "__main__":
    main()
