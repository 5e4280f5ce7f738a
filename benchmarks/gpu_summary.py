"""Records one step of benchmarks/gpu_suite.sh (OUT/STEP.json) and rewrites OUT/SUMMARY.md from every step and
epoch-time result found in OUT.

    python -m benchmarks.gpu_summary --step ddp --status ok --seconds 312 --out results/gpu
"""
import argparse
import glob
import json
import os
import time

import torch

from benchmarks.common import commit, machine

STEPS = ("tests", "ddp", "epoch_time", "real_run", "reproduce")


def write_summary(out):
    steps = {}
    for name in STEPS:
        path = os.path.join(out, f"{name}.json")
        if os.path.isfile(path):
            with open(path) as f:
                steps[name] = json.load(f)
    lines = ["# GPU suite (benchmarks/gpu_suite.sh)", "",
             f"Device: {machine()}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
             f"written {time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}.", "",
             "| step | status | minutes | when | commit |", "|---|---|---|---|---|"]
    for name in STEPS:
        s = steps.get(name)
        lines.append(f"| {name} | {s['status']} | {s['seconds'] / 60:.1f} | {s['date']} | {s['commit']} |" if s
                     else f"| {name} | not run | - | - | - |")
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "epoch_time_*.json"))):
        with open(path) as f:
            result = json.load(f)
        for r in result.get("rows", [result["result"]]):
            rows.append(f"| {r.get('method', 'fast_meta')} | {r.get('path', '-')} | {r['precision']} "
                        f"| {r['channels_last']} | {r['synthesis_s']} "
                        f"| {r['pool_aug_s']} | {r['kd_s']} | {r['epoch_s']} | {r['floor_s']} "
                        f"| {r.get('compile_s', '-')} | {r.get('speedup_vs_old', '-')} | {r['peak_gpu_mib']} |")
    if rows:
        lines += ["",
                  "One Fast-2 (fast_meta) or NAYER epoch, WRN-40-2 -> WRN-16-1, batch 256, 400 KD steps "
                  "(benchmarks/epoch_time.py; old = fp32 eager plain teacher, speed-up over it with compile time "
                  "spread over 220 epochs):",
                  "",
                  "| method | path | precision | channels_last | synthesis s | pool+aug s | KD s | epoch s | floor s "
                  "| compile s | speed-up vs old | peak GPU MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|", *rows]
    methods = os.path.join(out, "fmnist_methods.md")
    if os.path.isfile(methods):
        lines += ["", "Every method at the CPU table's budget (results/gpu/fmnist_methods.md):", ""]
        with open(methods) as f:
            lines += [line.rstrip("\n") for line in f if line.startswith("|")]
    with open(os.path.join(out, "SUMMARY.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--step", required=True, choices=STEPS)
    p.add_argument("--status", required=True, choices=("ok", "failed"))
    p.add_argument("--seconds", required=True, type=float)
    p.add_argument("--out", default="results/gpu")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    record = {"step": args.step, "status": args.status, "seconds": args.seconds, "device": machine(),
              "torch": torch.__version__, "cuda": torch.version.cuda, "date": time.strftime("%Y-%m-%d %H:%M"),
              "commit": commit()}
    with open(os.path.join(args.out, f"{args.step}.json"), "w") as f:
        json.dump(record, f, indent=2)
    write_summary(args.out)
    print(f"{args.step}: {args.status} in {args.seconds / 60:.1f} min -> {args.out}/SUMMARY.md")


if __name__ == "__main__":
    main()
