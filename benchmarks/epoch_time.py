"""Time of one Fast-2 epoch (WRN-40-2 -> WRN-16-1, 3x32x32) split into synthesis, pool/augmentation and KD,
next to the floor: the same KD steps on one batch already in memory.

    python benchmarks/epoch_time.py                  # full: batch 256, 400 KD steps
    python benchmarks/epoch_time.py --kd_steps 50    # quicker look
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import registry  # noqa: E402
from benchmarks.common import print_table, write_results  # noqa: E402
from datafree.distill import distill_epoch  # noqa: E402
from datafree.synthesis import FastMetaSynthesizer, Generator  # noqa: E402
from datafree.synthesis.augment import Normalizer  # noqa: E402
from engine.device import Precision  # noqa: E402
from engine.train import kd_step  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch_size", type=int, default=256)
    p.add_argument("--kd_steps", type=int, default=400)
    p.add_argument("--g_steps", type=int, default=2)
    p.add_argument("--teacher", default="wrn40_2")
    p.add_argument("--student", default="wrn16_1")
    p.add_argument("--fp16", action="store_true", help="mixed precision: fp16 with loss scaling on CUDA")
    p.add_argument("--bf16", action="store_true", help="with --fp16 on CUDA: bfloat16 instead of float16")
    p.add_argument("--channels_last", action="store_true")
    p.add_argument("--warm_epochs", type=int, default=1, help="untimed epochs first (fills the pool, warms up)")
    p.add_argument("--name", default=None, help="results/<name>.json (default: epoch_time_<device>)")
    return p


def main():
    args = build_parser().parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    teacher = registry.get_model(args.teacher, num_classes=10).to(device, memory_format=fmt).eval()
    teacher.requires_grad_(False)
    student = registry.get_model(args.student, num_classes=10).to(device, memory_format=fmt)
    precision = Precision(device, ("bf16" if args.bf16 else True) if args.fp16 else False)
    synth = FastMetaSynthesizer(
        teacher, student, Generator(nz=256, ngf=64, img_size=32, nc=3), nz=256, num_classes=10, img_shape=(3, 32, 32),
        normalizer=Normalizer(**registry.NORMALIZE_DICT["cifar10"]), device=device,
        synthesis_batch_size=args.batch_size, batch_size=args.batch_size, g_steps=args.g_steps, lr_g=5e-3,
        lr_z=0.015, adv=1.1, bn=10, oh=0.4, bn_mmt=0.9, warmup=0,
        autocast_dtype=precision.unscaled_dtype)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.2, momentum=0.9, weight_decay=1e-4)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warm_epochs):
        distill_epoch(synth, student, teacher, optimizer, precision, 5, 5, T=20)

    sync(device)
    t0 = time.time()
    epoch = distill_epoch(synth, student, teacher, optimizer, precision, args.kd_steps, args.kd_steps, T=20)
    sync(device)
    epoch_seconds = time.time() - t0

    sync(device)
    t0 = time.time()
    for _ in range(args.kd_steps):
        synth.sample()
    sync(device)
    pool_seconds = time.time() - t0

    batch = synth.sample()
    sync(device)
    t0 = time.time()
    for _ in range(args.kd_steps):
        kd_step(student, teacher, batch, optimizer, precision, T=20)
    sync(device)
    floor_seconds = time.time() - t0

    row = {"device": device.type, "batch": args.batch_size, "kd_steps": args.kd_steps, "g_steps": args.g_steps,
           "synthesis_s": round(epoch["synthesis_seconds"], 2), "pool_aug_s": round(pool_seconds, 2),
           "kd_s": round(epoch["kd_seconds"] - pool_seconds, 2), "epoch_s": round(epoch_seconds, 2),
           "floor_s": round(floor_seconds, 2), "epoch/floor": round(epoch_seconds / floor_seconds, 3),
           "precision": ("bf16" if args.bf16 else "fp16") if args.fp16 else "fp32", "channels_last": args.channels_last,
           "peak_gpu_mib": round(torch.cuda.max_memory_allocated() / 2**20) if device.type == "cuda" else None}
    print_table([row], list(row))
    write_results(args.name or f"epoch_time_{device.type}", {"args": vars(args), "result": row})


if __name__ == "__main__":
    main()
