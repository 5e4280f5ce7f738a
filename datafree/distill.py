"""One data-free epoch: (ep_steps // kd_steps) x [synthesize; kd_steps student steps], with timings."""
import time

import torch
from tqdm import tqdm

from engine.train import kd_step


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def distill_epoch(synthesizer, student, teacher, optimizer, precision, ep_steps, kd_steps, T, train_student=True,
                  log_every=0, log=None):
    """Returns dict(info of the last synthesis, synthesis_seconds, kd_seconds, kd_loss).

    Synthesis time covers synthesize() and, for online methods, generating each KD batch (the paper's count);
    KD time covers pool sampling, augmentation and the student steps."""
    device = synthesizer.device
    syn_time = kd_time = 0.0
    loss_sum, count = torch.zeros((), device=device), 0
    info = None
    for _ in range(ep_steps // kd_steps):
        _sync(device)
        t0 = time.time()
        info = synthesizer.synthesize()
        _sync(device)
        syn_time += time.time() - t0
        if not train_student:
            continue
        t0, sample_time = time.time(), 0.0
        for step in tqdm(range(kd_steps), desc="kd", leave=False, disable=None):
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
            if log_every > 0 and step % log_every == 0 and log is not None:
                log(f"[Train] Iter={step}/{kd_steps} loss={loss.item():.4f} lr={optimizer.param_groups[0]['lr']:.4f}")
        _sync(device)
        syn_time += sample_time
        kd_time += time.time() - t0 - sample_time
    kd_loss = (loss_sum / count).item() if count else float("nan")
    return {"info": info, "synthesis_seconds": syn_time, "kd_seconds": kd_time, "kd_loss": kd_loss}
