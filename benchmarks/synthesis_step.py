"""Where a synthesis step's time goes: generator forward, augmentation, teacher forward with the BN-statistic hooks,
student forward (the adversarial term), backward and the generator's optimizer step, per method and code path, in
one run:

    old       the generator's Adam as torch builds it by default (one pass per parameter tensor and op on CPU)
    new       the synthesizers' Adam (`Synthesizer.adam`: fused where this torch has it, else foreach)
    new_cl    new + channels_last teacher and student (what --channels_last does)

    python -m benchmarks.synthesis_step                                  # CIFAR sizes: WRN-40-2 teacher, batch 256
    python -m benchmarks.synthesis_step --teacher wrn16_1 --student resnet8 --dataset fmnist --batch 128
"""
import argparse
import time

import torch

import registry
from benchmarks.common import print_table, write_results
from datafree.synthesis import SYNTHESIZERS
from datafree.synthesis.augment import Normalizer
from datafree.synthesis.embeddings import class_embeddings
from datafree.synthesis.generator import Generator, NoisyLayerGenerator

STAGES = ("generator", "augment", "teacher", "student", "backward", "optimizer")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="fast_meta,nayer")
    p.add_argument("--paths", default="old,new,new_cl", help="comma-separated, from old, new, new_cl")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--teacher", default="wrn40_2")
    p.add_argument("--student", default="wrn16_1")
    p.add_argument("--batch", type=int, default=256, help="synthesis batch")
    p.add_argument("--steps", type=int, default=20, help="timed steps (after 3 untimed ones)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--name", default=None, help="results/<name>.json (default: synthesis_step_<device>)")
    return p


def build(method, path, args, device):
    torch.manual_seed(0)
    num_classes, channels, size = registry.dataset_info(args.dataset)
    fmt = torch.channels_last if path == "new_cl" else torch.contiguous_format
    teacher = registry.get_model(args.teacher, num_classes=num_classes, in_channels=channels)
    teacher = teacher.to(device, memory_format=fmt).eval()
    student = registry.get_model(args.student, num_classes=num_classes, in_channels=channels)
    student = student.to(device, memory_format=fmt)
    common = dict(num_classes=num_classes, img_shape=(channels, size, size), device=device,
                  normalizer=Normalizer(**registry.NORMALIZE_DICT[registry.canonical_dataset(args.dataset)]),
                  synthesis_batch_size=args.batch, batch_size=args.batch, adv=1.1, bn=10, oh=0.4, bn_mmt=0.9)
    if method == "nayer":
        emb = class_embeddings("auto", registry.canonical_dataset(args.dataset), num_classes, teacher)
        generator = NoisyLayerGenerator(emb, args.batch, img_size=size, nc=channels)
        return SYNTHESIZERS[method](teacher, student, generator, g_steps=1, **common)
    return SYNTHESIZERS[method](teacher, student, Generator(nz=256, img_size=size, nc=channels), nz=256, g_steps=1,
                                **common)


def time_stages(synth, path, steps, device):
    """The synthesis step of `InversionSynthesizer.optimize_batch`, cut into stages with a clock between them."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    if hasattr(synth, "balanced_targets"):
        targets, generate = synth.balanced_targets(), lambda: synth.generator(targets)
        params = list(synth.generator.parameters())
    else:
        z = torch.randn(synth.synthesis_batch_size, synth.nz, device=device, requires_grad=True)
        targets, generate = synth.random_targets(), lambda: synth.generator(z)
        params = [z, *synth.generator.parameters()]
    optimizer = (torch.optim.Adam(params, 1e-3, betas=(0.5, 0.999)) if path == "old" else synth.adam(params, 1e-3))
    totals = dict.fromkeys(STAGES, 0.0)
    synth.epoch = synth.warmup + 1   # adversarial term on
    with synth.synthesis_mode():
        for step in range(steps + 3):
            clock = [time.perf_counter()]

            def lap(clock=clock):
                sync()
                clock.append(time.perf_counter())
            x = generate()
            lap()
            x_aug = synth.synthesis_view(x)
            lap()
            with synth.bn_stats.attached():
                t_logits = synth.teacher(x_aug)
            loss = synth.bn * synth.bn_stats.loss() + synth.oh * torch.nn.functional.cross_entropy(t_logits, targets)
            lap()
            loss = loss + synth.adv * synth.adversarial(synth.student(x_aug), t_logits)
            lap()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            lap()
            optimizer.step()
            lap()
            if step >= 3:
                for name, a, b in zip(STAGES, clock[:-1], clock[1:], strict=True):
                    totals[name] += b - a
    return {name: 1000 * t / steps for name, t in totals.items()}


def main():
    args = build_parser().parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for path in paths:
            ms = time_stages(build(method, path, args, device), path, args.steps, device)
            total = sum(ms.values())
            rows.append({"method": method, "path": path, "batch": args.batch,
                         **{f"{k}_ms": round(v, 1) for k, v in ms.items()}, "step_ms": round(total, 1),
                         **{f"{k}_%": round(100 * v / total) for k, v in ms.items()}})
    for r in rows:
        base = next((b for b in rows if b["method"] == r["method"] and b["path"] == "old"), None)
        r["speedup_vs_old"] = round(base["step_ms"] / r["step_ms"], 2) if base else None
    print_table(rows, ["method", "path", "batch", "step_ms", "speedup_vs_old", *[f"{k}_ms" for k in STAGES]])
    print_table(rows, ["method", "path", *[f"{k}_%" for k in STAGES]])
    write_results(args.name or f"synthesis_step_{device.type}", {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
