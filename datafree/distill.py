"""One data-free epoch: (ep_steps // kd_steps) x [synthesize; kd_steps student steps], with timings; it can stop at
any step boundary and later continue from there exactly."""
import time

import torch

from engine import distributed
from engine.progress import Progress
from engine.train import kd_step


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def distill_epoch(synthesizer, student, teacher, optimizer, precision, ep_steps, kd_steps, T, train_student=True,
                  log_every=0, log=None, should_stop=None, resume=None):
    """Returns dict(info of the last synthesis, synthesis_seconds, kd_seconds, kd_loss, stopped).

    Synthesis time covers synthesize() and, for online methods, generating each KD batch (the paper's count);
    KD time covers pool sampling, augmentation and the student steps.
    `should_stop()` is asked after every synthesis and KD step; when it says yes the epoch returns at once with
    `stopped` = its position and partial sums, which passed back as `resume` continue the epoch exactly there."""
    device = synthesizer.device
    pos = resume or {"round": 0, "step": 0, "synthesized": False, "synthesis_seconds": 0.0, "kd_seconds": 0.0,
                     "loss_sum": torch.zeros((), device=device), "count": 0, "info": None}
    syn_time, kd_time = pos["synthesis_seconds"], pos["kd_seconds"]
    loss_sum, count, info = pos["loss_sum"].to(device), pos["count"], pos["info"]

    def stop_here(round_, step, synthesized):
        if should_stop is None or not should_stop():
            return None
        return {"round": round_, "step": step, "synthesized": synthesized, "synthesis_seconds": syn_time,
                "kd_seconds": kd_time, "loss_sum": loss_sum, "count": count, "info": info}

    stopped = None
    for r in range(pos["round"], ep_steps // kd_steps):
        resuming = r == pos["round"]
        if not (resuming and pos["synthesized"]):
            _sync(device)
            t0 = time.time()
            info = synthesizer.synthesize()
            _sync(device)
            syn_time += time.time() - t0
            if train_student:
                stopped = stop_here(r, 0, True)
            elif r + 1 < ep_steps // kd_steps:
                stopped = stop_here(r + 1, 0, False)
            if stopped:
                break
        if not train_student:
            continue
        t0, sample_time = time.time(), 0.0
        first = pos["step"] if resuming else 0
        progress = Progress(range(first, kd_steps), kd_steps, "kd", log_every, log, first)
        for step in progress:
            if synthesizer.online:
                _sync(device)
                ts = time.time()
                images = synthesizer.sample()
                _sync(device)
                sample_time += time.time() - ts
            else:
                images = synthesizer.sample()
            loss = kd_step(student, teacher, images, optimizer, precision, T=T, loss_fn=synthesizer.student_loss)
            loss_sum += loss
            count += 1
            progress.update(step, loss, images.shape[0])
            if step + 1 < kd_steps:
                stopped = stop_here(r, step + 1, True)
            elif r + 1 < ep_steps // kd_steps:
                stopped = stop_here(r + 1, 0, False)
            if stopped:
                break
        _sync(device)
        syn_time += sample_time
        kd_time += time.time() - t0 - sample_time
        if stopped:
            stopped.update(synthesis_seconds=syn_time, kd_seconds=kd_time)
            break
    kd_loss = distributed.all_reduce_mean_(loss_sum / count).item() if count else float("nan")   # every rank's
    return {"info": info, "synthesis_seconds": syn_time, "kd_seconds": kd_time, "kd_loss": kd_loss,
            "stopped": stopped}
