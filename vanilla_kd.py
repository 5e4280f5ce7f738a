"""Knowledge distillation with real data (or another dataset as transfer set): the data-driven upper bound."""
import argparse
import math
import os

import torch

import registry
from engine.cli import (
    add_kd_teacher_arg,
    add_runtime_args,
    check_positive,
    parse_args,
    resolve_resume,
    start_run,
    to_device,
)
from engine.device import describe_device, seed_everything
from engine.errors import UserError, cli_entry
from engine.inference import kd_models
from engine.loaders import make_loader, take_subset
from engine.loop import EpochLoop, evaluate_only, resume_training
from engine.runconfig import file_digest, run_config
from engine.train import evaluate, fast_optimizer_kwargs, kd_epoch, make_scheduler, wrap_ddp

# The flags that define a KD run: --resume refuses a checkpoint written with other values.
RUN_KEYS = ("teacher", "student", "dataset", "transfer_set", "epochs", "batch_size", "lr", "lr_decay_milestones",
            "weight_decay", "momentum", "T", "alpha", "beta", "train_subset", "seed", "fp16", "bf16")


def build_parser():
    p = argparse.ArgumentParser(description="Vanilla knowledge distillation")
    p.add_argument("--teacher", default="wrn40_2")
    p.add_argument("--student", default="wrn16_1")
    p.add_argument("--teacher_ckpt", default=None, help="default: checkpoints/pretrained/{dataset}_{teacher}.pth")
    p.add_argument("--dataset", default="cifar100")
    p.add_argument("--transfer_set", default=None,
                   help="dataset whose train split is distilled on (default: --dataset)")
    p.add_argument("--epochs", default=200, type=int)
    p.add_argument("-b", "--batch-size", "--batch_size", dest="batch_size", default=128, type=int)
    p.add_argument("--lr", default=0.1, type=float)
    p.add_argument("--lr_decay_milestones", default="", type=str,
                   help="comma-separated epochs for step decay (x0.1); empty: cosine annealing")
    p.add_argument("--wd", "--weight_decay", dest="weight_decay", default=5e-4, type=float)
    p.add_argument("--momentum", default=0.9, type=float)
    p.add_argument("--train_subset", default=0, type=int, metavar="N",
                   help="distill on a fixed random N images of the transfer set (0: all; for CPU-sized schedules)")
    p.add_argument("--T", default=4, type=float, help="distillation temperature")
    p.add_argument("--alpha", default=0.0, type=float, help="weight of cross-entropy on real labels")
    p.add_argument("--beta", default=1.0, type=float, help="weight of the KD loss")
    add_kd_teacher_arg(p)
    add_runtime_args(p, save_dir_default=None)
    return p


def validate(args):
    check_positive(args, "epochs", "batch_size", "lr", "T")
    check_positive(args, "workers", "weight_decay", "alpha", "beta", "momentum",
                   allow_zero=("workers", "weight_decay", "alpha", "beta", "momentum"))
    args.transfer_set = args.transfer_set or args.dataset
    if registry.dataset_info(args.transfer_set)[1] != registry.dataset_info(args.dataset)[1]:
        raise UserError(f"--transfer_set {args.transfer_set} has a different channel count from --dataset "
                        f"{args.dataset}")
    if args.save_dir is None:
        tag = f"-{args.log_tag}" if args.log_tag else ""
        args.save_dir = os.path.join("run", f"vanilla_kd-{args.dataset}-{args.teacher}-{args.student}{tag}")
    if args.teacher_ckpt is None:
        args.teacher_ckpt = os.path.join("checkpoints", "pretrained", f"{args.dataset}_{args.teacher}.pth")
    return args


def datasets(args):
    """The transfer set's train split (--train_subset of it) and the test split of --dataset."""
    val_dst = registry.test_split(args)
    _, transfer_dst, _ = registry.get_dataset(args.transfer_set, args.data_root, in_memory=args.in_memory)
    return take_subset(transfer_dst, args.train_subset, "--train_subset"), val_dst


@cli_entry
def main(argv=None):
    args = validate(parse_args(build_parser(), argv))
    last_path, best_path = os.path.join(args.save_dir, "last.pth"), os.path.join(args.save_dir, "best.pth")
    resolve_resume(args, last_path)
    seed_everything(args.seed)   # before any model is built: initial weights depend on it
    num_classes, channels, _ = registry.dataset_info(args.dataset)
    size = registry.dataset_info(args.transfer_set)[2]
    teacher, student = registry.teacher_and_student(args, num_classes, channels)
    transfer_dst, val_dst = datasets(args)
    config = run_config(args, RUN_KEYS, teacher_sha256=file_digest(args.teacher_ckpt))
    run = start_run(args, "vanilla_kd", last_path)
    teacher = to_device(teacher, run, args.channels_last).eval().requires_grad_(False)
    student = to_device(student, run, args.channels_last)
    kd_teacher, kd_student, compile_seconds = kd_models(teacher, wrap_ddp(student, run.device), args, run,
                                                        (channels, size, size), args.batch_size // run.world_size)
    optimizer = torch.optim.SGD(student.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay, **fast_optimizer_kwargs(run.device))
    scheduler = make_scheduler(optimizer, args.epochs, args.lr_decay_milestones)
    val_loader = make_loader(val_dst, args.batch_size, False, args.workers, run.device)
    ckpt = resume_training(args, run, student, optimizer, scheduler, config, args.epochs) if args.resume else {}
    if args.evaluate_only:
        return evaluate_only(student, val_loader, run)
    teacher_acc1 = ckpt.get("teacher_acc1") or evaluate(teacher, val_loader, run.device, run.precision)["acc1"]
    run.logger.info(f"teacher acc@1 {teacher_acc1:.2f}")
    wall_before = ckpt.get("wall_seconds", 0.0)
    loop = EpochLoop(run, student, val_loader, args.epochs, last_path, best_path, args.seed,
                     lambda **extra: {"epoch": loop.epoch, "arch": args.student, "state_dict": student.state_dict(),
                                      "best_acc1": loop.best_acc1, "teacher_acc1": teacher_acc1,
                                      "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                      "wall_seconds": wall_before + run.elapsed(), "config": config, **extra},
                     best_acc1=ckpt.get("best_acc1", 0.0), mid_epoch=ckpt.get("mid_epoch"), resume_path=args.resume)
    # Labels of another dataset mean nothing to this teacher: only the KD term applies then.
    alpha = args.alpha if args.transfer_set == args.dataset else 0.0

    def train_one(epoch, position, should_stop):
        loader = make_loader(transfer_dst, args.batch_size, True, args.workers, run.device, args.seed, epoch)
        return kd_epoch(kd_student, kd_teacher, loader, optimizer, run.device, run.precision, T=args.T, alpha=alpha,
                        beta=args.beta, desc=f"epoch {epoch}", should_stop=should_stop, start=position,
                        log_every=args.print_freq, log=run.logger.info)

    def finish_one(epoch, out):
        wall = wall_before + run.elapsed()
        res = loop.finish_training_epoch(epoch, scheduler, optimizer, "kd_loss", out["loss"], wall)
        if run.is_main:
            write_summary(args, run, loop, res, epoch, teacher_acc1, len(transfer_dst), compile_seconds, wall)

    loop.run_epochs(ckpt.get("epoch", 0), train_one, finish_one)
    run.logger.info(f"Best: {loop.best_acc1:.2f} -> {args.save_dir}")
    loop.close()
    return {"best_acc1": loop.best_acc1, "teacher_acc1": teacher_acc1, "last": loop.last}


def write_summary(args, run, loop, res, epoch, teacher_acc1, transfer_size, compile_seconds, wall):
    run.logger.summary(
        method="vanilla_kd", dataset=args.dataset, transfer_set=args.transfer_set, teacher=args.teacher,
        student=args.student, teacher_acc1=teacher_acc1, best_acc1=loop.best_acc1, last_acc1=res["acc1"],
        epochs_done=epoch + 1, epochs=args.epochs, synthesis_seconds=0.0, batch_size=args.batch_size,
        train_steps=math.ceil(transfer_size / args.batch_size) * (epoch + 1), wall_seconds=wall,
        train_subset=args.train_subset, val_subset=args.val_subset, compile_seconds=compile_seconds,
        device=describe_device(run.device), world_size=run.world_size)


if __name__ == "__main__":
    main()
