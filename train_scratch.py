"""Train a classifier from scratch on real data (the teachers of data-free KD)."""
import argparse
import math
import os

import torch

import registry
from engine import distributed
from engine.checkpoint import restore_training, save_atomic
from engine.cli import add_runtime_args, check_positive, parse_args, resolve_resume, start_run, to_device
from engine.device import describe_device, seed_everything
from engine.errors import cli_entry
from engine.guard import ensure_finite
from engine.inference import compile_student_step
from engine.preemption import GracefulStop, continue_from, stop_with_state
from engine.runconfig import check_resume_config, run_config
from engine.loaders import make_loader, take_subset
from engine.train import evaluate, fast_optimizer_kwargs, make_scheduler, replan_cosine, train_epoch, wrap_ddp

# The flags that define a training run: --resume refuses a checkpoint written with other values.
RUN_KEYS = ("model", "dataset", "epochs", "batch_size", "lr", "lr_decay_milestones", "lr_decay_gamma", "wd",
            "momentum", "train_subset", "seed", "fp16", "bf16")


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
    p.add_argument("--wd", "--weight_decay", dest="wd", default=5e-4, type=float)
    p.add_argument("--momentum", default=0.9, type=float)
    p.add_argument("--train_subset", default=0, type=int, metavar="N",
                   help="train on a fixed random N images of the train split (0: all; for CPU-sized schedules)")
    add_runtime_args(p, save_dir_default="checkpoints/scratch")
    return p


@cli_entry
def main(argv=None):
    args = parse_args(build_parser(), argv)
    check_positive(args, "epochs", "batch_size", "lr")
    check_positive(args, "workers", "wd", "momentum", allow_zero=("workers", "wd", "momentum"))
    best_path = os.path.join(args.save_dir, f"{args.dataset}_{args.model}.pth")
    last_path = os.path.join(args.save_dir, f"{args.dataset}_{args.model}-last.pth")
    resolve_resume(args, last_path)
    seed_everything(args.seed)   # before any model is built: initial weights depend on it
    num_classes, channels, size = registry.dataset_info(args.dataset)
    model = registry.get_model(args.model, num_classes=num_classes, in_channels=channels)
    _, train_dst, val_dst = registry.get_dataset(args.dataset, args.data_root, in_memory=args.in_memory)
    train_dst = take_subset(train_dst, args.train_subset, "--train_subset")
    val_dst = take_subset(val_dst, args.val_subset, "--val_subset")

    run = start_run(args, "train_scratch", last_path)
    log = run.logger
    model = to_device(model, run, args.channels_last)
    ddp_model = wrap_ddp(model, run.device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    example = torch.zeros((args.batch_size // run.world_size, channels, size, size),
                          device=run.device).contiguous(memory_format=fmt)
    train_model, compile_seconds = compile_student_step(ddp_model, example, args.compile)
    if args.compile:
        log.info(f"torch.compile of the model: {compile_seconds:.1f}s (counted in wall time)")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.wd,
                                **fast_optimizer_kwargs(run.device))
    scheduler = make_scheduler(optimizer, args.epochs, args.lr_decay_milestones, args.lr_decay_gamma)
    val_loader = make_loader(val_dst, args.batch_size, False, args.workers, run.device)

    start_epoch, best_acc1, wall_before, start = 0, 0.0, 0.0, None
    if args.resume:
        training = not args.evaluate_only
        ckpt = restore_training(args.resume, run.device, model, optimizer if training else None,
                                scheduler if training else None)
        if training:
            check_resume_config(ckpt.get("config"), run_config(args, RUN_KEYS), args.resume, args.resume_override)
            replan_cosine(scheduler, args.epochs)
        start_epoch, best_acc1 = ckpt.get("epoch", 0), ckpt.get("best_acc1", 0.0)
        wall_before = ckpt.get("wall_seconds", 0.0)
        start = continue_from(ckpt.get("mid_epoch"), run.rank, run.world_size, args.resume)
        log.info(f"resumed from {args.resume} at epoch {start_epoch} (best acc@1 {best_acc1:.2f})")
        log.resume_at(start_epoch)

    if args.evaluate_only:
        res = evaluate(model, val_loader, run.device, run.precision)
        log.info(f"[Eval] Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} Loss={res['loss']:.4f}")
        return res

    def state(epoch, **extra):
        return {"epoch": epoch, "arch": args.model, "dataset": args.dataset, "state_dict": model.state_dict(),
                "best_acc1": best_acc1, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "wall_seconds": wall_before + run.elapsed(), "config": run_config(args, RUN_KEYS), **extra}

    res, hint = None, f"continue with the same command and --resume auto (or --resume {last_path})"
    with GracefulStop(run.device) as stop:
        for epoch in range(start_epoch, args.epochs):
            if args.seed is not None:
                seed_everything(args.seed + epoch + 1009 * run.rank)   # ranks augment their shares differently
            t0 = run.elapsed()
            loader = make_loader(train_dst, args.batch_size, True, args.workers, run.device, args.seed, epoch)
            train_res = train_epoch(train_model, loader, optimizer, run.device, run.precision, desc=f"epoch {epoch}",
                                    should_stop=stop.requested, start=start)
            start = None
            stop_with_state(stop, train_res["stopped"], lambda mid: save_atomic(state(epoch, mid_epoch=mid), last_path),
                            run.is_main, f"in epoch {epoch}", hint)
            scheduler.step()
            res = evaluate(model, val_loader, run.device, run.precision)
            epoch_seconds = run.elapsed() - t0
            ensure_finite(f"epoch {epoch}", last_path if os.path.isfile(last_path) else None,
                          training_loss=train_res["loss"], model_weights=model, test_loss=res["loss"])
            is_best = res["acc1"] > best_acc1
            best_acc1 = max(best_acc1, res["acc1"])
            log.info(f"[Eval] Epoch={epoch} Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} Loss={res['loss']:.4f} "
                     f"Lr={optimizer.param_groups[0]['lr']:.4f} train_loss={train_res['loss']:.4f} "
                     f"({epoch_seconds:.1f}s)")
            log.scalars(epoch, acc1=res["acc1"], acc5=res["acc5"], val_loss=res["loss"], train_loss=train_res["loss"],
                        lr=optimizer.param_groups[0]["lr"], epoch_seconds=epoch_seconds,
                        wall_seconds=wall_before + run.elapsed())
            if run.is_main:
                save_atomic(state(epoch + 1, acc1=res["acc1"]), last_path)
                if is_best:
                    save_atomic(state(epoch + 1, acc1=res["acc1"]), best_path)
            distributed.barrier()
            if epoch + 1 < args.epochs and stop.requested():
                raise stop.preempted(f"after epoch {epoch}", hint)

    wall = wall_before + run.elapsed()
    log.summary(method="scratch", model=args.model, dataset=args.dataset, best_acc1=best_acc1,
                train_steps=math.ceil(len(train_dst) / args.batch_size) * args.epochs, batch_size=args.batch_size,
                train_subset=args.train_subset, val_subset=args.val_subset,
                last_acc1=res["acc1"] if res else None, epochs=args.epochs, wall_seconds=wall,
                seconds_per_epoch=wall / max(args.epochs - start_epoch, 1) if res else None,
                compile_seconds=compile_seconds, device=describe_device(run.device), checkpoint=best_path)
    log.info(f"best acc@1 {best_acc1:.2f}; weights in {best_path}; {wall:.0f}s")
    log.close()
    distributed.cleanup()
    return {"best_acc1": best_acc1, "last": res}


if __name__ == "__main__":
    main()
