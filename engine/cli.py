"""Flags and start-up shared by every entry script (device, seed, precision, logging, distributed)."""
import argparse
import math
import os
import time
from dataclasses import dataclass

import torch

from . import distributed, rundir
from .checkpoint import make_folder, remove_stale_temps, trust_pickles
from .device import Precision, describe_device, select_device
from .errors import UserError, set_resume_hint
from .images import SKIP_BAD_IMAGES
from .logger import RunLogger


def add_runtime_args(parser, save_dir_default):
    g = parser.add_argument_group("runtime")
    g.add_argument("--data_root", default="data")
    g.add_argument("--skip_bad_images", action="store_true",
                   help="skip unreadable image files (each logged) instead of stopping at the first one")
    g.add_argument("--save_dir", default=save_dir_default, help="everything the run writes goes here")
    g.add_argument("--resume", default="", type=str, metavar="PATH",
                   help="checkpoint to continue from; auto: the run folder's last checkpoint if there is one")
    g.add_argument("--resume_override", default="", metavar="FLAG,...",
                   help="with --resume: flags that may differ from the checkpoint's run (e.g. epochs)")
    g.add_argument("--trust_checkpoint", action="store_true",
                   help="load checkpoints that hold arbitrary Python objects (their loading can run code)")
    g.add_argument("--evaluate_only", action="store_true", help="only evaluate and exit")
    g.add_argument("--seed", default=None, type=int, help="seed for a reproducible (and resumable) run")
    g.add_argument("--fp16", action="store_true", help="mixed precision (fp16 on CUDA, bf16 on CPU)")
    g.add_argument("--bf16", action="store_true", help="with --fp16 on CUDA: use bfloat16 instead of float16")
    g.add_argument("--channels_last", action="store_true", help="channels_last memory format (fast on CUDA)")
    g.add_argument("-j", "--workers", default=4, type=int, metavar="N", help="data loading workers")
    g.add_argument("--in_memory", default=1, type=int, choices=(0, 1),
                   help="1: hold Fashion-MNIST, MNIST, CIFAR and SVHN in memory as uint8 and augment whole batches on "
                        "the training device (no workers); 0: per-sample transforms in a DataLoader")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the training steps' models (the frozen teacher and the student); compile time "
                        "is logged apart")
    g.add_argument("--gpu", default=None, type=int, help="GPU id (CPU when no GPU exists)")
    g.add_argument("--dist_backend", default=None, choices=("nccl", "gloo"),
                   help="under torchrun: nccl (GPU) or gloo (CPU); default: nccl on GPUs, gloo on CPU")
    # Upstream's launcher flags: accepted so old commands parse; torchrun's environment decides the layout.
    g.add_argument("--world_size", default=-1, type=int, help=argparse.SUPPRESS)
    g.add_argument("--rank", default=-1, type=int, help=argparse.SUPPRESS)
    g.add_argument("--dist_url", default="env://", help=argparse.SUPPRESS)
    g.add_argument("--multiprocessing_distributed", action="store_true",
                   help="(upstream flag) launch with: torchrun --nproc_per_node N SCRIPT ...")
    g.add_argument("--val_subset", default=0, type=int, metavar="N",
                   help="evaluate on a fixed random N images of the test split (0: all; for CPU-sized schedules)")
    g.add_argument("--log_tag", default="")
    g.add_argument("-p", "--print_freq", default=0, type=int, metavar="N",
                   help="without a terminal (a cluster log): a progress line (step, loss, images/s, ETA of the "
                        "epoch) every N steps; 0: none")
    return g


def add_kd_teacher_arg(parser):
    parser.add_argument("--kd_teacher", default="frozen", choices=("frozen", "plain"),
                        help="the teacher of the KD steps: frozen = an inference-only copy with BatchNorm folded "
                             "into the convolutions, channels_last (same logits, faster); plain = the model itself")


def parse_args(parser, argv=None):
    """Parse, refuse non-finite numbers (nan, inf) in any flag, and apply --trust_checkpoint."""
    args = parser.parse_args(argv)
    for name, value in sorted(vars(args).items()):
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"--{name} must be a finite number, got {value}")
    trust_pickles(getattr(args, "trust_checkpoint", False))
    SKIP_BAD_IMAGES["enabled"] = getattr(args, "skip_bad_images", False)
    return args


def resolve_resume(args, last_path):
    """--resume auto: the run folder's last checkpoint when it exists, else a fresh start. --evaluate_only needs a
    checkpoint to evaluate."""
    if args.resume == "auto":
        args.resume = last_path if os.path.isfile(last_path) else ""
    if args.evaluate_only and not args.resume:
        raise UserError("--evaluate_only needs --resume PATH (the checkpoint to evaluate); without it the model "
                        "would be a random initialisation")


def check_positive(args, *names, allow_zero=()):
    for name in names:
        value = getattr(args, name)
        if value is None:
            continue
        if value < 0 or (value == 0 and name not in allow_zero):
            flag = "--" + name
            raise UserError(f"{flag} must be {'>= 0' if name in allow_zero else '> 0'}, got {value}")


@dataclass
class Run:
    device: torch.device
    precision: Precision
    logger: RunLogger
    rank: int
    world_size: int
    start_time: float

    @property
    def is_main(self):
        return self.rank == 0

    def elapsed(self):
        return time.time() - self.start_time


def start_run(args, name, last_path=None):
    """Device, distributed group, seeding, precision and logger for an entry script; on the main process also
    the run folder: created, locked against a second process, cleared of temp files left by a killed save, and
    refused when it holds another run's `last_path` and --resume was not given."""
    if args.multiprocessing_distributed and "WORLD_SIZE" not in os.environ:
        raise UserError("--multiprocessing_distributed: start the script with torchrun instead, "
                        "e.g. torchrun --nproc_per_node 4 datafree_kd.py ...")
    device = select_device(args.gpu)
    rank, world = distributed.init_distributed(args.dist_backend, device)
    if rank == 0:
        make_folder(args.save_dir)
        rundir.claim(args.save_dir)
        remove_stale_temps(args.save_dir)
        if last_path and os.path.isfile(last_path) and not args.resume and not args.evaluate_only:
            raise UserError(f"{args.save_dir} already holds a run ({last_path}): continue it with --resume auto, or "
                            "start a new one with another --save_dir")
    if last_path:
        set_resume_hint(f"continue with the same command and --resume auto (last checkpoint: {last_path})")
    if args.seed is None:
        torch.seed()   # every process starts from torch's fixed default seed: ranks would draw the same samples
    if args.seed is not None and device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    precision = Precision(device, ("bf16" if args.bf16 else True) if args.fp16 else False)
    logger = RunLogger(args.save_dir, name=name, enabled=(rank == 0))
    logger.info(f"device: {describe_device(device)}; world size {world}")
    logger.log_args(args)
    return Run(device, precision, logger, rank, world, time.time())


def to_device(model, run, channels_last=False):
    model = model.to(run.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model
