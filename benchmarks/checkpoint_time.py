"""Seconds and bytes of one data-free checkpoint (student, optimizer, schedule, synthesizer with its pool) at pool
sizes 5k, 50k and 500k generated 3x32x32 images, old vs new:

    old   the whole pool inside last.pth, rewritten at every checkpoint
    new   the pool in append-only chunk files: the checkpoint writes the images added since the previous one
          (one synthesis batch here) and a small last.pth

    python -m benchmarks.checkpoint_time          # sizes 5000,50000,500000; batch 256; median of 3 checkpoints
"""
import argparse
import os
import shutil
import tempfile
import time

import torch

import registry
from benchmarks.common import print_table, write_results
from datafree.synthesis import FastMetaSynthesizer, Generator
from datafree.synthesis.augment import Normalizer
from engine.checkpoint import save_atomic
from engine.chunkstore import ChunkStore


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(folder) for f in files)


def build(batch):
    torch.manual_seed(0)
    teacher = registry.get_model("wrn40_2", num_classes=10).eval().requires_grad_(False)
    student = registry.get_model("wrn16_1", num_classes=10)
    synth = FastMetaSynthesizer(
        teacher, student, Generator(nz=256, ngf=64, img_size=32, nc=3), nz=256, num_classes=10, img_shape=(3, 32, 32),
        normalizer=Normalizer(**registry.NORMALIZE_DICT["cifar10"]), device=torch.device("cpu"),
        synthesis_batch_size=batch, batch_size=batch, g_steps=1, lr_g=5e-3, lr_z=0.015, adv=1.1, bn=10, oh=0.4,
        bn_mmt=0.9, warmup=0)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.2, momentum=0.9)
    student(torch.zeros(2, 3, 32, 32)).sum().backward()
    optimizer.step()   # momentum buffers exist, as in a real checkpoint
    return synth, student, optimizer


def fill(pool, n, chunk=10000):
    g = torch.Generator().manual_seed(1)
    while len(pool) < n:
        pool.add(torch.rand(min(chunk, n - len(pool)), 3, 32, 32, generator=g))


def checkpoint(synth, student, optimizer):
    return {"state_dict": student.state_dict(), "optimizer": optimizer.state_dict(), "synthesizer": synth.state_dict()}


def measure(size, batch, mode, root, repeats):
    folder = os.path.join(root, f"{mode}-{size}")
    os.makedirs(folder)
    synth, student, optimizer = build(batch)
    if mode == "new":
        synth.pool.attach_store(ChunkStore(os.path.join(folder, "pool")))
    fill(synth.pool, size - repeats * batch)
    save_atomic(checkpoint(synth, student, optimizer), os.path.join(folder, "last.pth"))   # the previous epochs
    times, written = [], []
    for _ in range(repeats):   # epochs in a row: the median write
        before = folder_bytes(folder) - os.path.getsize(os.path.join(folder, "last.pth"))
        synth.pool.add(torch.rand(batch, 3, 32, 32))   # this epoch's synthesis
        synth.pool.sample(batch)
        t0 = time.time()
        save_atomic(checkpoint(synth, student, optimizer), os.path.join(folder, "last.pth"))
        times.append(time.time() - t0)
        written.append(folder_bytes(folder) - before)   # new chunk files + the whole new last.pth
    seconds, written = sorted(times)[len(times) // 2], sorted(written)[len(written) // 2]
    pool_bytes = synth.pool.tensor().numel()
    shutil.rmtree(folder)
    return {"pool_images": size, "path": mode, "write_s": round(seconds, 3), "written_mb": round(written / 2**20, 2),
            "pool_mb": round(pool_bytes / 2**20, 1), "written/pool": round(written / pool_bytes, 4)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="5000,50000,500000")
    p.add_argument("--batch", type=int, default=256, help="images added by the epoch being checkpointed")
    p.add_argument("--repeats", type=int, default=3, help="checkpoints in a row per size (the median is shown)")
    p.add_argument("--dir", default=None, help="where to write (default: a temp folder on the same disk as results/)")
    p.add_argument("--name", default="checkpoint_time")
    args = p.parse_args()
    root = tempfile.mkdtemp(prefix="ckpt-bench-", dir=args.dir or ".")
    try:
        rows = [measure(int(s), args.batch, mode, root, args.repeats)
                for s in args.sizes.split(",") for mode in ("old", "new")]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    new = [r for r in rows if r["path"] == "new"]
    spread = max(r["write_s"] for r in new) / max(min(r["write_s"] for r in new), 1e-9)
    print_table(rows, list(rows[0]))
    print(f"new path: slowest / fastest write across pool sizes = {spread:.2f} (target: within 2x)")
    write_results(args.name, {"args": vars(args), "rows": rows, "new_write_spread": round(spread, 2)})


if __name__ == "__main__":
    main()
