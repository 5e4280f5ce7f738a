"""The epoch loop of every entry script: resume, seed, train one epoch, stop with mid-epoch state on a signal,
evaluate, log, save, and leave at the next epoch boundary when asked. Each script feeds it its epoch function."""
import os

from . import distributed
from .checkpoint import restore_training, save_atomic
from .device import epoch_seed, seed_everything
from .guard import ensure_finite
from .preemption import GracefulStop, continue_from, rng_state, stop_with_state
from .runconfig import check_resume_config
from .train import evaluate, replan_cosine


def evaluate_only(model, val_loader, run):
    res = evaluate(model, val_loader, run.device, run.precision)
    run.logger.info(f"[Eval] Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} Loss={res['loss']:.4f}")
    return res


def resume_training(args, run, model, optimizer, scheduler, config, t_max):
    """Continue --resume (a checkpoint of the same run: `config` must match) into model, optimizer and scheduler;
    with --evaluate_only the weights alone. Returns the checkpoint."""
    training = not args.evaluate_only
    ckpt = restore_training(args.resume, run.device, model, optimizer if training else None,
                            scheduler if training else None)
    if training:
        check_resume_config(ckpt.get("config"), config, args.resume, args.resume_override)
        replan_cosine(scheduler, t_max)
    run.logger.info(f"resumed from {args.resume} at epoch {ckpt.get('epoch', 0)} "
                    f"(best acc@1 {ckpt.get('best_acc1', 0.0):.2f})")
    run.logger.resume_at(ckpt.get("epoch", 0))
    return ckpt


class EpochLoop:
    """`loop.run(start_epoch, train_one, finish_one)` runs epochs start_epoch..epochs-1:

    - seeds each epoch with `epoch_seed` (when --seed is given), per rank, or alike on every rank when
      `rank_streams` is False (a data-free run draws every batch whole on every rank: engine.global_batch);
    - `train_one(epoch, position, should_stop)` trains one epoch and returns a dict whose "stopped" is None, or the
      position to continue from when `should_stop()` said yes; `position` is that of a run stopped mid-epoch
      (with its random state under "rng"), for the first epoch of a resumed run only;
    - `loop.epoch` counts the finished epochs (what a checkpoint's "epoch" holds);
    - a stopped epoch is saved as `checkpoint(mid_epoch=...)` to `last_path` and the run leaves (Preempted);
    - `finish_one(epoch, out)` evaluates (with `loop.evaluate`), logs and returns; the main rank then saves
      `checkpoint()` to `last_path`, and `best_state()` to `best_path` after a new best top-1;
    - `done()` True ends the run before `epochs` (a spent time budget)."""

    def __init__(self, run, model, val_loader, epochs, last_path, best_path, seed, checkpoint, best_state=None,
                 best_acc1=0.0, mid_epoch=None, resume_path="", done=None, rank_streams=True):
        self.run, self.model, self.val_loader, self.epochs = run, model, val_loader, epochs
        self.last_path, self.best_path, self.seed = last_path, best_path, seed
        self.checkpoint, self.best_state = checkpoint, best_state or checkpoint
        self.best_acc1, self.is_best, self.last, self.epoch = best_acc1, False, None, 0
        self.mid_epoch, self.resume_path = mid_epoch, resume_path
        self.done = done or (lambda: False)
        self.rank_streams = rank_streams
        self.hint = f"continue with the same command and --resume auto (or --resume {last_path})"

    def last_good(self):
        """The checkpoint a non-finite value points the user back to."""
        return self.last_path if os.path.isfile(self.last_path) else None

    def evaluate(self, epoch):
        """Top-1 on the test split, refused when non-finite, tracked as the best so far, logged."""
        res = evaluate(self.model, self.val_loader, self.run.device, self.run.precision)
        ensure_finite(f"epoch {epoch}", self.last_good(), test_loss=res["loss"])
        self.is_best = res["acc1"] > self.best_acc1
        self.best_acc1 = max(self.best_acc1, res["acc1"])
        self.last = res
        self.run.logger.info(f"[Eval] Epoch={epoch} Acc@1={res['acc1']:.2f} Acc@5={res['acc5']:.2f} "
                             f"Loss={res['loss']:.4f}")
        return res

    def finish_training_epoch(self, epoch, scheduler, optimizer, loss_name, loss, wall_seconds):
        """The end of a real-data epoch: step the LR schedule, evaluate, refuse non-finite values, log."""
        scheduler.step()
        res = self.evaluate(epoch)
        ensure_finite(f"epoch {epoch}", self.last_good(), **{loss_name: loss}, model_weights=self.model)
        lr = optimizer.param_groups[0]["lr"]
        self.run.logger.info(f"[Train] Epoch={epoch} {loss_name}={loss:.4f} Lr={lr:.4f} ({wall_seconds:.1f}s)")
        self.run.logger.scalars(epoch, acc1=res["acc1"], acc5=res["acc5"], val_loss=res["loss"], **{loss_name: loss},
                                lr=lr, wall_seconds=wall_seconds)
        return res

    def run_epochs(self, start_epoch, train_one, finish_one):
        run = self.run
        with GracefulStop(run.device) as stop:
            for epoch in range(start_epoch, self.epochs):
                if self.done():
                    return
                position = continue_from(self.mid_epoch, run.rank, run.world_size, self.resume_path)
                self.mid_epoch, self.epoch = None, epoch
                if self.seed is not None:
                    seed_everything(epoch_seed(self.seed, epoch, run.rank if self.rank_streams else 0))
                out = train_one(epoch, position, stop.requested)
                if out["stopped"] is not None:
                    stopped = {"rng": rng_state(), **out["stopped"]}
                    stop_with_state(stop, stopped, lambda mid: save_atomic(self.checkpoint(mid_epoch=mid),
                                                                           self.last_path),
                                    run.is_main, f"in epoch {epoch}", self.hint)
                self.is_best = False
                self.epoch = epoch + 1
                finish_one(epoch, out)
                if run.is_main:
                    save_atomic(self.checkpoint(), self.last_path)
                    if self.is_best and self.best_path:
                        save_atomic(self.best_state(), self.best_path)
                distributed.barrier()
                if epoch + 1 < self.epochs and not self.done() and stop.requested():
                    raise stop.preempted(f"after epoch {epoch}", self.hint)

    def close(self):
        self.run.logger.close()
        distributed.cleanup()
