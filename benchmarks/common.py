"""Helpers for benchmark scripts: machine description, result table and JSON output."""
import json
import os
import subprocess
import time

import torch

from engine.device import cpu_name


def machine():
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{cpu_name()}, {torch.get_num_threads()} threads"


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def print_table(rows, columns):
    widths = [max(len(c), *(len(f"{r[c]}") for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r[c]}".ljust(w) for c, w in zip(columns, widths, strict=True)))


def write_results(name, payload):
    path = os.path.join("results", f"{name}.json")   # a name may hold a folder: gpu/epoch_time_fp32
    os.makedirs(os.path.dirname(path), exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), "torch": torch.__version__, "cuda": torch.version.cuda,
               "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), **payload}
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    print(f"wrote {path}")
    return path
