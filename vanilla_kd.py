"""Knowledge distillation with real data (or another dataset as transfer set): the data-driven upper bound."""
import argparse
import os

import torch

import registry
from engine import distributed
from engine.checkpoint import restore_training, save_atomic
from engine.cli import (add_kd_teacher_arg, add_runtime_args, check_positive, parse_args, resolve_resume, start_run,
                        to_device)
from engine.device import describe_device, seed_everything
from engine.errors import UserError, cli_entry
from engine.guard import ensure_finite
from engine.inference import kd_models
from engine.loaders import make_loader, take_subset
from engine.preemption import GracefulStop, continue_from, stop_with_state
from engine.runconfig import check_resume_config, file_digest, run_config
from engine.train import evaluate, fast_optimizer_kwargs, kd_epoch, make_scheduler, replan_cosine, wrap_ddp

# The flags that define a KD run: --resume refuses a checkpoint written with other values.
RUN_KEYS = ("teacher", "student", "dataset", "transfer_set", "epochs", "batch_size", "lr", "lr_decay_milestones",
            "wd", "momentum", "T", "alpha", "beta", "train_subset", "seed", "fp16", "bf16")


def build_parser():
    p = argparse.ArgumentParser(description="Vanilla knowledge distillation")
    p.add_argument("--teacher", default="wrn40_2")
    p.add_argument("--student", default="wrn16_1")
    p.add_argument("--teacher_ckpt", default=None, help="default: checkpoints/pretrained/{dataset}_{teacher}.pth")
    p.add_argument("--dataset", default="cifar100")
    p.add_argument("--transfer_set", default=None, help="dataset whose train split is distilled on (default: --dataset)")
    p.add_argument("--epochs", default=200, type=int)
    p.add_argument("-b", "--batch-size", "--batch_size", dest="batch_size", default=128, type=int)
    p.add_argument("--lr", default=0.1, type=float)
    p.add_argument("--lr_decay_milestones", default="", type=str,
                   help="comma-separated epochs for step decay (x0.1); empty: cosine annealing")
    p.add_argument("--wd", "--weight_decay", dest="wd", default=5e-4, type=float)
    p.add_argument("--momentum", default=0.9, type=float)
    p.add_argument("--train_subset", default=0, type=int, metavar="N",
                   help="distill on a fixed random N images of the transfer set (0: all; for CPU-sized schedules)")
    p.add_argument("--T", default=4, type=float, help="distillation temperature")
    p.add_argument("--alpha", default=0.0, type=float, help="weight of cross-entropy on real labels")
    p.add_argument("--beta", default=1.0, type=float, help="weight of the KD loss")
    add_kd_teacher_arg(p)
    add_runtime_args(p, save_dir_default=None)
    return p


@cli_entry
def main(argv=None):
    args = parse_args(build_parser(), argv)
    check_positive(args, "epochs", "batch_size", "lr", "T")
    check_positive(args, "workers", "wd", "alpha", "beta", "momentum",
                   allow_zero=("workers", "wd", "alpha", "beta", "momentum"))
    args.transfer_set = args.transfer_set or args.dataset
    if args.save_dir is None:
        tag = f"-{args.log_tag}" if args.log_tag else ""
        args.save_dir = os.path.join("run", f"vanilla_kd-{args.dataset}-{args.teacher}-{args.student}{tag}")
    if args.teacher_ckpt is None:
        args.teacher_ckpt = os.path.join("checkpoints", "pretrained", f"{args.dataset}_{args.teacher}.pth")
    last_path, best_path = os.path.join(args.save_dir, "last.pth"), os.path.join(args.save_dir, "best.pth")
    resolve_resume(args, last_path)
    seed_everything(args.seed)   # before any model is built: initial weights depend on it
    num_classes, channels, size = registry.dataset_info(args.dataset)
    if registry.dataset_info(args.transfer_set)[1] != channels:
        raise UserError(f"--transfer_set {args.transfer_set} has a different channel count from --dataset {args.dataset}")
    teacher = registry.get_model(args.teacher, num_classes=num_classes, in_channels=channels)
    student = registry.get_model(args.student, num_classes=num_classes, in_channels=channels)
    registry.load_teacher(teacher, args.teacher, args.teacher_ckpt)
    _, _, val_dst = registry.get_dataset(args.dataset, args.data_root, in_memory=args.in_memory)
    _, transfer_dst, _ = registry.get_dataset(args.transfer_set, args.data_root, in_memory=args.in_memory)
    transfer_dst = take_subset(transfer_dst, args.train_subset, "--train_subset")
    val_dst = take_subset(val_dst, args.val_subset, "--val_subset")
    # Labels of another dataset mean nothing to this teacher: only the KD term applies then.
    alpha = args.alpha if args.transfer_set == args.dataset else 0.0

    config = run_config(args, RUN_KEYS, teacher_sha256=file_digest(args.teacher_ckpt))
    run = start_run(args, "vanilla_kd", last_path)
    log = run.logger
    teacher = to_device(teacher, run, args.channels_last).eval().requires_grad_(False)
    student = to_device(student, run, args.channels_last)
    ddp_student = wrap_ddp(student, run.device)
    kd_teacher, kd_student, compile_seconds = kd_models(teacher, ddp_student, args, run,
                                                        (channels, *[registry.dataset_info(args.transfer_set)[2]] * 2),
                                                        args.batch_size // run.world_size)
    optimizer = torch.optim.SGD(student.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.wd,
                                **fast_optimizer_kwargs(run.device))
    scheduler = make_scheduler(optimizer, args.epochs, args.lr_decay_milestones)
    val_loader = make_loader(val_dst, args.batch_size, False, args.workers, run.device)

    start_epoch, best_acc1, wall_before, teacher_acc1, start = 0, 0.0, 0.0, None, None
    if args.resume:
        training = not args.evaluate_only
        ckpt = restore_training(args.resume, run.device, student, optimizer if training else None,
                                scheduler if training else None)
        if training:
            check_resume_config(ckpt.get("config"), config, args.resume, args.resume_override)
            replan_cosine(scheduler, args.epochs)
        start_epoch, best_acc1 = ckpt.get("epoch", 0), ckpt.get("best_acc1", 0.0)
        wall_before, teacher_acc1 = ckpt.get("wall_seconds", 0.0), ckpt.get("teacher_acc1")
        start = continue_from(ckpt.get("mid_epoch"), run.rank, run.world_size, args.resume)
        log.resume_at(start_epoch)
    if args.evaluate_only:
        res = evaluate(student, val_loader, run.device, run.precision)
        log.info(f"[Eval] Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} Loss={res['loss']:.4f}")
        return res
    if teacher_acc1 is None:
        teacher_acc1 = evaluate(teacher, val_loader, run.device, run.precision)["acc1"]
    log.info(f"teacher acc@1 {teacher_acc1:.2f}")

    def state(epoch, **extra):
        return {"epoch": epoch, "arch": args.student, "state_dict": student.state_dict(), "best_acc1": best_acc1,
                "teacher_acc1": teacher_acc1, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "wall_seconds": wall_before + run.elapsed(), "config": config, **extra}

    res, hint = None, f"continue with the same command and --resume auto (or --resume {last_path})"
    with GracefulStop(run.device) as stop:
        for epoch in range(start_epoch, args.epochs):
            if args.seed is not None:
                seed_everything(args.seed + epoch + 1009 * run.rank)   # ranks augment their shares differently
            loader = make_loader(transfer_dst, args.batch_size, True, args.workers, run.device, args.seed, epoch)
            train_res = kd_epoch(kd_student, kd_teacher, loader, optimizer, run.device, run.precision,
                                 T=args.T, alpha=alpha, beta=args.beta, desc=f"epoch {epoch}",
                                 should_stop=stop.requested, start=start)
            start = None
            stop_with_state(stop, train_res["stopped"], lambda mid: save_atomic(state(epoch, mid_epoch=mid), last_path),
                            run.is_main, f"in epoch {epoch}", hint)
            scheduler.step()
            res = evaluate(student, val_loader, run.device, run.precision)
            ensure_finite(f"epoch {epoch}", last_path if os.path.isfile(last_path) else None,
                          KD_loss=train_res["loss"], student_weights=student, test_loss=res["loss"])
            is_best = res["acc1"] > best_acc1
            best_acc1 = max(best_acc1, res["acc1"])
            log.info(f"[Eval] Epoch={epoch} Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} Loss={res['loss']:.4f} "
                     f"kd_loss={train_res['loss']:.4f} Lr={optimizer.param_groups[0]['lr']:.4f}")
            log.scalars(epoch, acc1=res["acc1"], acc5=res["acc5"], val_loss=res["loss"], kd_loss=train_res["loss"],
                        lr=optimizer.param_groups[0]["lr"], wall_seconds=wall_before + run.elapsed())
            if run.is_main:
                save_atomic(state(epoch + 1), last_path)
                if is_best:
                    save_atomic(state(epoch + 1), best_path)
                log.summary(method="vanilla_kd", dataset=args.dataset, transfer_set=args.transfer_set,
                            teacher=args.teacher, student=args.student, teacher_acc1=teacher_acc1,
                            best_acc1=best_acc1, last_acc1=res["acc1"], epochs_done=epoch + 1, epochs=args.epochs,
                            synthesis_seconds=0.0, train_steps=len(loader) * (epoch + 1), batch_size=args.batch_size,
                            train_subset=args.train_subset, val_subset=args.val_subset,
                            wall_seconds=wall_before + run.elapsed(), compile_seconds=compile_seconds,
                            device=describe_device(run.device),
                            world_size=run.world_size)
            distributed.barrier()
            if epoch + 1 < args.epochs and stop.requested():
                raise stop.preempted(f"after epoch {epoch}", hint)
    log.info(f"Best: {best_acc1:.2f} -> {args.save_dir}")
    log.close()
    distributed.cleanup()
    return {"best_acc1": best_acc1, "teacher_acc1": teacher_acc1, "last": res}


if __name__ == "__main__":
    main()
