"""Train a classifier from scratch on real data (the teachers of data-free KD)."""
import argparse
import math
import os

import torch

import registry
from engine.cli import add_runtime_args, check_positive, parse_args, resolve_resume, start_run, to_device
from engine.device import describe_device, seed_everything
from engine.errors import cli_entry
from engine.inference import compile_student_step
from engine.loaders import make_loader, take_subset
from engine.loop import EpochLoop, evaluate_only, resume_training
from engine.runconfig import run_config
from engine.train import fast_optimizer_kwargs, make_scheduler, train_epoch, wrap_ddp

# The flags that define a training run: --resume refuses a checkpoint written with other values.
RUN_KEYS = ("model", "dataset", "epochs", "batch_size", "lr", "lr_decay_milestones", "lr_decay_gamma",
            "weight_decay", "momentum", "train_subset", "seed", "fp16", "bf16")


def build_parser():
    p = argparse.ArgumentParser(description="Train a model from scratch")
    p.add_argument("--model", default="wrn40_2")
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--epochs", default=200, type=int)
    p.add_argument("-b", "--batch-size", "--batch_size", dest="batch_size", default=128, type=int)
    p.add_argument("--lr", default=0.1, type=float)
    p.add_argument("--lr_decay_milestones", default="", type=str,
                   help="comma-separated epochs for step decay, e.g. 120,150,180; empty: cosine annealing")
    p.add_argument("--lr_decay_gamma", default=0.1, type=float)
    p.add_argument("--wd", "--weight_decay", dest="weight_decay", default=5e-4, type=float)
    p.add_argument("--momentum", default=0.9, type=float)
    p.add_argument("--train_subset", default=0, type=int, metavar="N",
                   help="train on a fixed random N images of the train split (0: all; for CPU-sized schedules)")
    add_runtime_args(p, save_dir_default="checkpoints/scratch")
    return p


def validate(args):
    check_positive(args, "epochs", "batch_size", "lr")
    check_positive(args, "workers", "weight_decay", "momentum", allow_zero=("workers", "weight_decay", "momentum"))
    return args


@cli_entry
def main(argv=None):
    args = validate(parse_args(build_parser(), argv))
    best_path = os.path.join(args.save_dir, f"{args.dataset}_{args.model}.pth")
    last_path = os.path.join(args.save_dir, f"{args.dataset}_{args.model}-last.pth")
    resolve_resume(args, last_path)
    seed_everything(args.seed)   # before any model is built: initial weights depend on it
    num_classes, channels, size = registry.dataset_info(args.dataset)
    model = registry.get_model(args.model, num_classes=num_classes, in_channels=channels)
    _, train_dst, _ = registry.get_dataset(args.dataset, args.data_root, in_memory=args.in_memory)
    train_dst, val_dst = take_subset(train_dst, args.train_subset, "--train_subset"), registry.test_split(args)
    run = start_run(args, "train_scratch", last_path)
    model = to_device(model, run, args.channels_last)
    train_model, compile_seconds = compiled(args, run, model, (channels, size, size))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay, **fast_optimizer_kwargs(run.device))
    scheduler = make_scheduler(optimizer, args.epochs, args.lr_decay_milestones, args.lr_decay_gamma)
    val_loader = make_loader(val_dst, args.batch_size, False, args.workers, run.device)
    ckpt = resume_training(args, run, model, optimizer, scheduler, run_config(args, RUN_KEYS), args.epochs) \
        if args.resume else {}
    if args.evaluate_only:
        return evaluate_only(model, val_loader, run)
    start_epoch, wall_before = ckpt.get("epoch", 0), ckpt.get("wall_seconds", 0.0)
    loop = EpochLoop(run, model, val_loader, args.epochs, last_path, best_path, args.seed,
                     lambda **extra: checkpoint(args, run, loop, model, optimizer, scheduler, wall_before, extra),
                     best_acc1=ckpt.get("best_acc1", 0.0), mid_epoch=ckpt.get("mid_epoch"), resume_path=args.resume)

    def train_one(epoch, position, should_stop):
        loader = make_loader(train_dst, args.batch_size, True, args.workers, run.device, args.seed, epoch)
        return train_epoch(train_model, loader, optimizer, run.device, run.precision, desc=f"epoch {epoch}",
                           should_stop=should_stop, start=position, log_every=args.print_freq, log=run.logger.info)

    def finish_one(epoch, out):
        wall = wall_before + run.elapsed()
        res = loop.finish_training_epoch(epoch, scheduler, optimizer, "train_loss", out["loss"], wall)
        if run.is_main:
            run.logger.summary(
                method="scratch", model=args.model, dataset=args.dataset, best_acc1=loop.best_acc1,
                last_acc1=res["acc1"], epochs_done=epoch + 1, epochs=args.epochs, batch_size=args.batch_size,
                train_steps=math.ceil(len(train_dst) / args.batch_size) * (epoch + 1), wall_seconds=wall,
                train_subset=args.train_subset, val_subset=args.val_subset, compile_seconds=compile_seconds,
                seconds_per_epoch=run.elapsed() / (epoch + 1 - start_epoch), device=describe_device(run.device),
                checkpoint=best_path)

    loop.run_epochs(start_epoch, train_one, finish_one)
    run.logger.info(f"best acc@1 {loop.best_acc1:.2f}; weights in {best_path}; {wall_before + run.elapsed():.0f}s")
    loop.close()
    return {"best_acc1": loop.best_acc1, "last": loop.last}


def compiled(args, run, model, img_shape):
    """The model of the training steps: DDP-wrapped under torchrun, compiled with --compile."""
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    example = torch.zeros((args.batch_size // run.world_size, *img_shape), device=run.device)
    train_model, seconds = compile_student_step(wrap_ddp(model, run.device), example.contiguous(memory_format=fmt),
                                                args.compile)
    if args.compile:
        run.logger.info(f"torch.compile of the model: {seconds:.1f}s (counted in wall time)")
    return train_model, seconds


def checkpoint(args, run, loop, model, optimizer, scheduler, wall_before, extra):
    return {"epoch": loop.epoch, "arch": args.model, "dataset": args.dataset,
            "state_dict": model.state_dict(), "best_acc1": loop.best_acc1, "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "wall_seconds": wall_before + run.elapsed(),
            "config": run_config(args, RUN_KEYS), **extra}


if __name__ == "__main__":
    main()
