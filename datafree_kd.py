"""Data-free knowledge distillation: synthesize images from the teacher, distill the student on them."""
import argparse
import inspect
import os
import random
import time

import torch
from torchvision.utils import save_image

import registry
from datafree.distill import distill_epoch
from datafree.synthesis import SYNTHESIZERS
from datafree.synthesis.augment import AUGMENTATIONS, Normalizer
from datafree.synthesis.base import InversionSynthesizer
from datafree.synthesis.embeddings import CLIP, DATA_FREE, DEFAULT_DATA_FREE, check_embedding_source, class_embeddings
from datafree.synthesis.generator import (
    DeepGenerator,
    Generator,
    LargeGenerator,
    NoisyLayerDeepGenerator,
    NoisyLayerGenerator,
    SpatialDeepGenerator,
)
from engine import distributed
from engine.checkpoint import load_run_checkpoint, load_state_strict, remove_stale_temps, strip_module_prefix
from engine.chunkstore import ChunkStore
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
from engine.global_batch import global_batchnorm_
from engine.guard import ensure_finite
from engine.inference import kd_models
from engine.loaders import make_loader
from engine.loop import EpochLoop, evaluate_only
from engine.preemption import set_rng_state
from engine.runconfig import check_resume_config, file_digest, run_config
from engine.train import budget_cosine_lr, evaluate, fast_optimizer_kwargs, replan_cosine, wrap_ddp

# The flags that define a data-free run: --resume refuses to continue a checkpoint written with other values.
RUN_KEYS = ("method", "dataset", "teacher", "student", "epochs", "batch_size", "synthesis_batch_size", "kd_steps",
            "ep_steps", "warmup", "lr", "momentum", "weight_decay", "T", "g_steps", "lr_g", "lr_z", "adv", "bn", "oh",
            "act", "balance", "cr", "cr_T", "tv", "l2", "bn_mmt", "is_maml", "reptile_scale", "reset_l0",
            "reset_l0_epoch", "reset_bn", "nz", "ngf", "pool_size", "cmi_init", "seed", "fp16", "bf16",
            "time_budget", "g_life", "g_loops", "gwp_loops", "label_emb", "le_emb_size", "lr_g_meta", "reinit",
            "pool_batch", "synthesis_aug", "kd_aug", "eta_min")


def build_parser():
    p = argparse.ArgumentParser(description="Data-free Knowledge Distillation")
    g = p.add_argument_group("data-free")
    g.add_argument("--method", required=True, choices=sorted(SYNTHESIZERS))
    g.add_argument("--adv", default=0, type=float, help="scaling factor for adversarial distillation")
    g.add_argument("--bn", default=0, type=float, help="scaling factor for BN regularization")
    g.add_argument("--oh", default=0, type=float, help="scaling factor for one hot loss (cross entropy)")
    g.add_argument("--act", default=0, type=float, help="scaling factor for activation loss used in DAFL")
    g.add_argument("--balance", default=0, type=float, help="scaling factor for class balance")
    g.add_argument("--cr", default=1, type=float, help="scaling factor for contrastive model inversion")
    g.add_argument("--cr_T", default=0.5, type=float, help="temperature for contrastive model inversion")
    g.add_argument("--cmi_init", default=None, type=str, help="path to pre-inverted data (a folder of images)")
    g.add_argument("--tv", default=0.0, type=float, help="DeepInversion total-variation prior weight")
    g.add_argument("--l2", default=0.0, type=float, help="DeepInversion l2 prior weight")
    g.add_argument("--lr_g", default=1e-3, type=float, help="initial learning rate for generator")
    g.add_argument("--lr_z", default=1e-3, type=float, help="initial learning rate for latent code")
    g.add_argument("--g_steps", default=1, type=int, help="number of iterations for generation")
    g.add_argument("--reset_l0", default=0, type=int, help="reset l0 in the generator during training")
    g.add_argument("--reset_l0_epoch", default=120, type=int, help="epoch (after warm-up) of the l0 reset")
    g.add_argument("--reset_bn", default=0, type=int, help="reset bn layers of the generator with l0")
    g.add_argument("--bn_mmt", default=None, type=float,
                   help="momentum when fitting batchnorm statistics (default 0; nayer: 0.9, its parser's)")
    g.add_argument("--is_maml", default=None, type=int,
                   help="meta gradient: 1 = MAML (default), 0 = Reptile (fast_meta_imagenet's only one)")
    g.add_argument("--reptile_scale", default=None, type=float,
                   help="Reptile meta-gradient scale (default 67; fast_meta_imagenet: 1, as upstream's)")
    g.add_argument("--pool_batch", default=None, choices=["best", "last"],
                   help="the batch a synthesis call adds to the pool: its lowest-loss step's (default) or its last "
                        "step's (fast_meta_imagenet's default, upstream's ImageNet synthesizer)")
    g.add_argument("--synthesis_aug", default=None, choices=AUGMENTATIONS,
                   help="what the teacher sees during synthesis: crop (4 px padding) + flip, or resized_crop "
                        "(area 0.75-1) + flip (default: the method's; fast_meta_imagenet: resized_crop)")
    g.add_argument("--kd_aug", default=None, choices=AUGMENTATIONS,
                   help="KD batches from the pool: crop (4 px padding) + flip, or resized_crop (area 0.08-1, "
                        "torchvision's RandomResizedCrop) + flip (default crop; fast_meta_imagenet: resized_crop)")
    g.add_argument("--pool_size", default=0, type=int, help="keep only the newest N synthetic images (0: all)")
    g.add_argument("--pool_device", default="auto", choices=["auto", "cpu", "train"],
                   help="where the image pool lives (auto: CPU for images larger than 64 px)")
    g.add_argument("--nz", default=None, type=int, help="generator latent size (default: the method's)")
    g.add_argument("--ngf", default=64, type=int, help="generator width")
    m = p.add_argument_group("fast_meta_imagenet (upstream's ImageNet synthesizer: a latent code kept across calls)")
    m.add_argument("--lr_g_meta", default=1e-4, type=float, help="meta learning rate of the generator")
    m.add_argument("--lr_z_meta", default=5e-3, type=float,
                   help="(upstream flag, accepted; no effect there either: its code's Reptile gradient is 0)")
    m.add_argument("--reinit", default=0, type=int, help="re-draw the latent code every N synthesis calls (0: never)")
    m.add_argument("--meta_lr_scale", default=1.0, type=float, help="(upstream flag, accepted; unused there too)")
    n = p.add_argument_group("nayer")
    n.add_argument("--g_life", default=10, type=int, help="rebuild the generator every N synthesis calls")
    n.add_argument("--g_loops", default=1, type=int, help="synthesis loops (batches) per call after warm-up")
    n.add_argument("--gwp_loops", default=1, type=int, help="synthesis loops per call during warm-up")
    n.add_argument("--label_emb", default="auto",
                   help="class embeddings: auto (the dataset's CLIP vectors if shipped, else "
                        f"{DEFAULT_DATA_FREE}), {', '.join(CLIP)}, {', '.join(DATA_FREE)}, or a .npy/.pt file "
                        "of shape (classes, d)")
    n.add_argument("--le_emb_size", default=1000, type=int, help="width of the noisy layer")
    b = p.add_argument_group("basic")
    b.add_argument("--teacher", default="wrn40_2")
    b.add_argument("--student", default="wrn16_1")
    b.add_argument("--teacher_ckpt", default=None, help="default: checkpoints/pretrained/{dataset}_{teacher}.pth")
    b.add_argument("--dataset", default="cifar100")
    b.add_argument("--lr", default=0.1, type=float, help="initial learning rate for KD")
    b.add_argument("--T", default=None, type=float, help="KD temperature (default 1; nayer: 20, its parser's)")
    b.add_argument("--epochs", default=200, type=int)
    b.add_argument("--kd_steps", default=400, type=int, help="number of iterations for KD after generation")
    b.add_argument("--ep_steps", default=400, type=int, help="number of total iterations in each epoch")
    b.add_argument("--warmup", default=0, type=int, help="which epoch to start kd")
    b.add_argument("--batch_size", default=128, type=int, help="global KD batch size")
    b.add_argument("--synthesis_batch_size", default=None, type=int,
                   help="global synthesis batch (default: batch_size)")
    b.add_argument("--momentum", default=0.9, type=float)
    b.add_argument("--wd", "--weight_decay", dest="weight_decay", default=1e-4, type=float)
    b.add_argument("--eta_min", default=None, type=float,
                   help="the KD learning rate's cosine floor (default 2e-4, the reference's; fast_meta_imagenet: 0)")
    b.add_argument("--lr_decay_milestones", default="", type=str,
                   help="(upstream flag, accepted; the KD learning rate follows a cosine, as in the reference)")
    b.add_argument("--start_epoch", default=0, type=int, help="(upstream flag; only 0: --resume sets the epoch)")
    b.add_argument("--pretrained", action="store_true",
                   help="(upstream flag, accepted; the teacher's weights always come from --teacher_ckpt)")
    b.add_argument("--eval_every", default=1, type=int, help="evaluate on the test split every N epochs (and last)")
    b.add_argument("--time_budget", default=0, type=float, metavar="SECONDS",
                   help="train for this many seconds of synthesis + KD (warm-up epochs included), the LR a cosine "
                        "over them, and stop at the first epoch boundary past it (--epochs is then an upper "
                        "bound): the same time for every method of a comparison. 0: off")
    add_kd_teacher_arg(b)
    add_runtime_args(p, save_dir_default=None)
    return p


def validate(args):
    """Refuse impossible flag values (one line each); fill the defaults that depend on other flags."""
    if args.synthesis_batch_size is None:
        args.synthesis_batch_size = args.batch_size
    check_method_flags(args)
    method_defaults = {**SHARED_DEFAULTS, **getattr(SYNTHESIZERS[args.method], "flag_defaults", {})}
    for name, value in method_defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    method_check = getattr(SYNTHESIZERS[args.method], "check_flags", None)
    if method_check:
        method_check(args)
    check_positive(args, "epochs", "kd_steps", "ep_steps", "batch_size", "synthesis_batch_size", "lr", "T", "ngf",
                   "eval_every", "g_steps", "nz", "cr_T", "g_life", "g_loops", "gwp_loops", "le_emb_size")
    check_positive(args, "warmup", "workers", "weight_decay", "lr_g", "lr_z", "pool_size", "momentum", "tv", "l2",
                   "time_budget", allow_zero=("warmup", "workers", "weight_decay", "lr_g", "lr_z", "pool_size",
                                              "momentum", "tv", "l2", "time_budget"))
    if args.kd_steps > args.ep_steps:
        raise UserError(f"--kd_steps ({args.kd_steps}) must not exceed --ep_steps ({args.ep_steps})")
    if not 0 <= args.bn_mmt < 1:
        raise UserError(f"--bn_mmt must be in [0, 1), got {args.bn_mmt}")
    if args.start_epoch:
        raise UserError(f"--start_epoch {args.start_epoch}: skipping epochs would leave the generator, the pool and "
                        "the LR schedule at epoch 0; resume with --resume PATH (or auto), which restores the epoch")
    if getattr(SYNTHESIZERS[args.method], "label_conditioned", False):
        check_embedding_source(args.label_emb)
    if args.warmup >= args.epochs:
        raise UserError(f"--warmup ({args.warmup}) must be smaller than --epochs ({args.epochs}): no KD would run")
    default_paths(args)
    return args


# Flags whose default depends on --method (a synthesizer's flag_defaults); eta_min 2e-4 is the reference's floor.
SHARED_DEFAULTS = {"T": 1.0, "bn_mmt": 0.0, "is_maml": 1, "reptile_scale": 67.0, "pool_batch": "best", "eta_min": 2e-4}


def check_method_flags(args):
    """Refuse a view flag the method has no use for (it would be silently ignored)."""
    cls = SYNTHESIZERS[args.method]
    unused = [f"--{name}" for name in ("synthesis_aug", "pool_batch") if getattr(args, name) is not None
              and not getattr(cls, "view_flags", False)]
    if args.kd_aug is not None and not issubclass(cls, InversionSynthesizer):
        unused.append("--kd_aug")
    if unused:
        users = ", ".join(sorted(m for m, c in SYNTHESIZERS.items() if getattr(c, "view_flags", False)))
        raise UserError(f"{' and '.join(unused)}: --method {args.method} does not use it (--synthesis_aug and "
                        f"--pool_batch: {users}; --kd_aug: the methods with an image pool)")


def train_seconds(state):
    return state["synthesis_seconds"] + state["kd_seconds"]


def budget_spent(args, state):
    """--time_budget reached (checked after each finished epoch)."""
    return bool(args.time_budget) and train_seconds(state) >= args.time_budget


def default_paths(args):
    """The default --save_dir names what tells runs apart: method, data, models, g_steps and seed."""
    tag = f"-{args.log_tag}" if args.log_tag else ""
    if args.save_dir is None:
        seed = "" if args.seed is None else f"-s{args.seed}"
        args.save_dir = os.path.join("run", f"{args.method}-{args.dataset}-{args.teacher}-{args.student}"
                                            f"-g{args.g_steps}{seed}{tag}")
    if args.teacher_ckpt is None:
        args.teacher_ckpt = os.path.join("checkpoints", "pretrained", f"{args.dataset}_{args.teacher}.pth")
    resolve_resume(args, os.path.join(args.save_dir, "last.pth"))


def build_synthesizer(args, teacher, student, num_classes, img_shape, run):
    """The method's synthesizer, its generator built here; a pool persists into <save_dir>/pool."""
    cls = SYNTHESIZERS[args.method]
    normalizer = Normalizer(**registry.NORMALIZE_DICT[registry.canonical_dataset(args.dataset)])
    common = dict(teacher=teacher, student=student, num_classes=num_classes, img_shape=img_shape,
                  normalizer=normalizer, device=run.device)
    # bf16 or full precision: no loss scaling, so meta-gradients stay plain sums of the inner gradients
    common["autocast_dtype"] = run.precision.unscaled_dtype
    if "feature_layers" in inspect.signature(cls.__init__).parameters:
        common["feature_layers"] = registry.cmi_feature_layers(args.teacher, teacher)
    if getattr(cls, "applies_resets", True) is False and (args.reset_l0 or args.reset_bn):
        run.logger.info(f"note: --method {args.method} ignores --reset_l0/--reset_bn, as the reference does "
                        "(it re-initialises the generator in fast_meta only)")
    if getattr(cls, "label_conditioned", False):
        emb = class_embeddings(args.label_emb, registry.canonical_dataset(args.dataset), num_classes, teacher)
        generator_cls = NoisyLayerDeepGenerator if img_shape[-1] > 64 else NoisyLayerGenerator
        common["generator"] = generator_cls(emb, args.synthesis_batch_size,
                                            hidden=args.le_emb_size, ngf=args.ngf, img_size=img_shape[-1],
                                            nc=img_shape[0])
    elif cls.needs_generator:
        nz = args.nz or cls.default_nz
        generator_cls = (SpatialDeepGenerator if getattr(cls, "spatial_latent", False)
                         else DeepGenerator if img_shape[-1] > 64 else LargeGenerator if cls.large_generator
                         else Generator)
        common["generator"] = generator_cls(nz=nz, ngf=args.ngf, img_size=img_shape[-1], nc=img_shape[0])
        common["nz"] = nz
    if run.world_size > 1 and "generator" in common:   # its BatchNorm sees the whole synthesis batch
        global_batchnorm_(common["generator"])
    synthesizer = cls.from_args(args, **common)
    if hasattr(synthesizer, "pool"):   # checkpoints hold pool counts; the images go to append-only chunk files
        synthesizer.pool.attach_store(ChunkStore(pool_folder(args.save_dir)))
        if run.is_main:
            remove_stale_temps(pool_folder(args.save_dir))
    return synthesizer


@cli_entry
def main(argv=None, synthesizer_hook=None):
    args = validate(parse_args(build_parser(), argv))
    seed_everything(args.seed)   # before any model is built: initial weights depend on it
    num_classes, channels, size = registry.dataset_info(args.dataset)
    img_shape = (channels, size, size)
    teacher, student = registry.teacher_and_student(args, num_classes, channels)
    val_dst = registry.test_split(args)   # (the real train split is never read)
    config = run_config(args, RUN_KEYS, teacher_sha256=file_digest(args.teacher_ckpt))
    run = start_run(args, f"datafree-{args.method}", last_path := os.path.join(args.save_dir, "last.pth"))
    args.resume = distributed.broadcast_object(args.resume)   # `auto` must not resume on some nodes only
    if run.world_size > 1:   # every batch is split over the ranks and computed as one (engine.global_batch)
        share_random_stream(args, run)
        global_batchnorm_(student)
    teacher = to_device(teacher, run, args.channels_last).eval().requires_grad_(False)
    student = to_device(student, run, args.channels_last)
    synthesizer = build_synthesizer(args, teacher, student, num_classes, img_shape, run)
    if synthesizer_hook is not None:
        synthesizer_hook(synthesizer)
    kd_teacher, kd_student, compile_seconds = kd_models(teacher, wrap_ddp(student, run.device), args, run, img_shape,
                                                        args.batch_size // run.world_size)
    optimizer, scheduler = make_optimizer(args, student, run.device)
    val_loader = make_loader(val_dst, args.batch_size, False, args.workers, run.device)
    state = dict(FRESH_STATE)
    mid_epoch = resume(args, run, config, state, student, optimizer, scheduler, synthesizer) if args.resume else None
    if args.evaluate_only:
        return evaluate_only(student, val_loader, run)
    state["compile_seconds"] += compile_seconds
    state["teacher_acc1"] = state["teacher_acc1"] or evaluate(teacher, val_loader, run.device, run.precision)["acc1"]
    run.logger.info(f"teacher {args.teacher} acc@1 {state['teacher_acc1']:.2f} on the {args.dataset} test split")
    wall_start = time.time() - state["wall_seconds"]
    parts = dict(student=student, synthesizer=synthesizer, optimizer=optimizer, scheduler=scheduler)
    loop = EpochLoop(run, student, val_loader, args.epochs, last_path, os.path.join(args.save_dir, "best.pth"),
                     args.seed, lambda **extra: run_checkpoint(args, config, state, wall_start, parts, extra),
                     rank_streams=False,
                     best_state=lambda: best_checkpoint(args, state, student), best_acc1=state["best_acc1"],
                     mid_epoch=mid_epoch, resume_path=args.resume, done=lambda: budget_spent(args, state))

    def train_one(epoch, position, should_stop):
        if position is not None:
            set_rng_state(position["rng"])
        if args.time_budget:
            budget_cosine_lr(optimizer, scheduler.base_lrs, train_seconds(state), args.time_budget, args.eta_min)
        return distill_epoch(synthesizer, kd_student, kd_teacher, optimizer, run.precision, args.ep_steps,
                             args.kd_steps, args.T, train_student=epoch >= args.warmup, log_every=args.print_freq,
                             log=run.logger.info, should_stop=should_stop, resume=position)

    loop.run_epochs(state["epoch"], train_one,
                    lambda epoch, out: finish_epoch(args, run, loop, state, parts, wall_start, epoch, out))
    run.logger.info(f"Best: {state['best_acc1']:.2f}  synthesis {state['synthesis_seconds']:.1f}s  "
                    f"kd {state['kd_seconds']:.1f}s  wall {state['wall_seconds']:.1f}s  -> {args.save_dir}"
                    + ("  (--time_budget spent)" if budget_spent(args, state) else ""))
    loop.close()
    return state


def share_random_stream(args, run):
    """Every rank draws the random numbers of the whole batch and keeps its rows: all need the same stream."""
    for name in ("batch_size", "synthesis_batch_size"):
        if getattr(args, name) < run.world_size:
            raise UserError(f"--{name} {getattr(args, name)} is smaller than the {run.world_size} processes: batch "
                            f"sizes are global (each process holds its rows); give at least {run.world_size}")
    if args.seed is None:
        args.seed = distributed.broadcast_object(random.randrange(2**31))
        run.logger.info(f"no --seed: every rank uses seed {args.seed} (they must draw the same numbers)")
        seed_everything(args.seed)


FRESH_STATE = {"epoch": 0, "best_acc1": 0.0, "last_acc1": None, "last_acc5": None, "teacher_acc1": None,
               "synthesis_seconds": 0.0, "kd_seconds": 0.0, "wall_seconds": 0.0, "compile_seconds": 0.0}


def make_optimizer(args, student, device):
    """The reference's KD optimizer: SGD, a cosine to --eta_min over the epochs after warm-up."""
    optimizer = torch.optim.SGD(student.parameters(), args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
                                **fast_optimizer_kwargs(device))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(args.epochs - args.warmup, 1),
                                                           eta_min=args.eta_min)
    return optimizer, scheduler


def best_checkpoint(args, state, student):
    return {"state_dict": student.state_dict(), "best_acc1": state["best_acc1"], "epoch": state["epoch"],
            "arch": args.student, "dataset": args.dataset}


def run_checkpoint(args, config, state, wall_start, parts, extra):
    """Everything a resumed run needs (`extra`: a stopped epoch's position)."""
    state["wall_seconds"] = time.time() - wall_start
    parts["synthesizer"].persist()
    return {**state, "method": args.method, "teacher": args.teacher, "student": args.student,
            "dataset": args.dataset, "arch": args.student, "args": vars(args), "config": config,
            "state_dict": parts["student"].state_dict(), "optimizer": parts["optimizer"].state_dict(),
            "scheduler": parts["scheduler"].state_dict(), "synthesizer": parts["synthesizer"].state_dict(), **extra}


def finish_epoch(args, run, loop, state, parts, wall_start, epoch, out):
    """After the epoch's steps: refuse non-finite values, step the schedule, evaluate and log."""
    student, synthesizer, optimizer = parts["student"], parts["synthesizer"], parts["optimizer"]
    distributed.broadcast_buffers_(student)   # evaluate, checkpoint and synthesize against rank 0's student
    info, kd_loss = out["info"], out["kd_loss"]
    syn_time, kd_time = out["synthesis_seconds"], out["kd_seconds"]
    ensure_finite(f"epoch {epoch}", loop.last_good(), KD_loss=kd_loss if epoch >= args.warmup else None,
                  student_weights=student,
                  **({"generator_weights": synthesizer.generator} if hasattr(synthesizer, "generator") else {}))
    if epoch >= args.warmup and not args.time_budget:   # a time budget sets the LR at each epoch's start
        parts["scheduler"].step()
    # rank 0's clock for every rank: --time_budget must end the run (and set the LR) on all ranks alike
    state["synthesis_seconds"], state["kd_seconds"] = distributed.broadcast_object(
        (state["synthesis_seconds"] + syn_time, state["kd_seconds"] + kd_time))
    state["epoch"] = epoch + 1
    metrics = {"acc1": None, "acc5": None, "val_loss": None}
    if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs or budget_spent(args, state):
        res = loop.evaluate(epoch)
        state.update(best_acc1=loop.best_acc1, last_acc1=res["acc1"], last_acc5=res["acc5"])
        metrics = {"acc1": res["acc1"], "acc5": res["acc5"], "val_loss": res["loss"]}
    run.logger.info(f"[Train] Epoch={epoch} Lr={optimizer.param_groups[0]['lr']:.4f} kd_loss={kd_loss:.4f} "
                    f"synthesis={syn_time:.1f}s kd={kd_time:.1f}s pool={len(getattr(synthesizer, 'pool', ()))}")
    state["wall_seconds"] = time.time() - wall_start
    scalars = {k: float(v) for k, v in info.items() if k.startswith("loss")}
    run.logger.scalars(epoch, **metrics, kd_loss=kd_loss, lr=optimizer.param_groups[0]["lr"],
                       synthesis_seconds=syn_time, kd_seconds=kd_time, wall_seconds=state["wall_seconds"], **scalars)
    if run.is_main:
        save_image(info["images"][:100].float(), os.path.join(args.save_dir, "synthetic.png"), nrow=10)
        write_summary(run.logger, args, state, run)


def resume(args, run, config, state, student, optimizer, scheduler, synthesizer):
    """Continue from --resume: the checkpoint must come from the same run (flags listed otherwise); a mid-epoch
    checkpoint returns its position and random state."""
    mid_epoch = None
    ckpt = load_run_checkpoint(args.resume, map_location=run.device)
    for key in ("method", "teacher", "student", "dataset"):
        if key in ckpt and ckpt[key] != getattr(args, key):
            raise UserError(f"--resume {args.resume} was written by a run with --{key} {ckpt[key]}, "
                            f"not {getattr(args, key)}: pass matching flags or another checkpoint")
    if not args.evaluate_only:
        changed = check_resume_config(ckpt.get("config"), config, args.resume, args.resume_override)
        if changed:
            run.logger.info(f"resuming with new values of {', '.join(sorted(changed))} (--resume_override)")
    load_state_strict(student, strip_module_prefix(ckpt["state_dict"]), f"checkpoint {args.resume}")
    if args.evaluate_only:
        run.logger.info(f"loaded the student of {args.resume}")
    elif "synthesizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        elsewhere = os.path.realpath(os.path.dirname(args.resume)) != os.path.realpath(args.save_dir)
        if elsewhere and hasattr(synthesizer, "pool"):   # read that run's pool, write all of it into this folder
            synthesizer.pool.attach_store(ChunkStore(pool_folder(os.path.dirname(args.resume))))
        synthesizer.load_state_dict(ckpt["synthesizer"])
        if elsewhere and hasattr(synthesizer, "pool"):
            synthesizer.pool.attach_store(ChunkStore(pool_folder(args.save_dir)), rewrite=True)
        state.update({k: ckpt[k] for k in state if k in ckpt})
        mid_epoch = ckpt.get("mid_epoch")
        replan_cosine(scheduler, max(args.epochs - args.warmup, 1))
        run.logger.info(f"resumed from {args.resume} at epoch {state['epoch']}")
        run.logger.resume_at(state["epoch"])
    else:
        restore_student_only(ckpt, optimizer, scheduler, state, args.resume, run.logger)
    return mid_epoch


def restore_student_only(ckpt, optimizer, scheduler, state, path, log):
    """A checkpoint without synthesizer state (the reference code's, or a best.pth): as the reference's own
    resume, restore the student, its optimizer, LR schedule and epoch; the generator and pool start fresh."""
    restored = ["student weights"]
    if "optimizer" in ckpt and "scheduler" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        restored.append("optimizer and LR schedule")
    state["epoch"] = int(ckpt.get("epoch", 0))
    state["best_acc1"] = float(ckpt.get("best_acc1", 0.0))
    log.info(f"{path} holds no synthesizer state (a checkpoint of the reference code, or a best.pth): restored "
             f"{' and '.join(restored)} at epoch {state['epoch']} (best acc@1 {state['best_acc1']:.2f}); the "
             "generator, image pool and timers start fresh, as in the reference's own resume")


def pool_folder(run_dir):
    return os.path.join(run_dir, "pool")


def write_summary(log, args, state, run):
    log.summary(method=args.method, dataset=args.dataset, teacher=args.teacher, student=args.student,
                teacher_acc1=state["teacher_acc1"], best_acc1=state["best_acc1"], last_acc1=state["last_acc1"],
                last_acc5=state["last_acc5"], epochs_done=state["epoch"], epochs=args.epochs,
                synthesis_seconds=state["synthesis_seconds"], kd_seconds=state["kd_seconds"],
                wall_seconds=state["wall_seconds"], compile_seconds=state["compile_seconds"],
                time_budget=args.time_budget, budget_reached=budget_spent(args, state),
                device=describe_device(run.device), world_size=run.world_size,
                g_steps=args.g_steps, kd_steps=args.kd_steps, ep_steps=args.ep_steps, warmup=args.warmup,
                batch_size=args.batch_size,
                synthesis_batch_size=args.synthesis_batch_size, seed=args.seed, log_tag=args.log_tag,
                val_subset=args.val_subset)


if __name__ == "__main__":
    main()
