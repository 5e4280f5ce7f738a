"""Loss terms of the synthesizers, each written once."""
import torch
import torch.nn.functional as F

from engine.device import upcast
from engine.global_batch import all_sum, stat_share


def kl_per_sample(student_logits, teacher_logits, T=1.0):
    """KL(softmax(t/T) || softmax(s/T)) summed over classes, one value per sample."""
    log_p_s = F.log_softmax(upcast(student_logits) / T, dim=1)
    p_t = F.softmax(upcast(teacher_logits) / T, dim=1)
    return F.kl_div(log_p_s, p_t, reduction="none").sum(1)


def one_hot_loss(teacher_logits, targets):
    return F.cross_entropy(upcast(teacher_logits), targets)


def adversarial_loss(student_logits, teacher_logits):
    """Fast/CMI/DeepInv adversarial term: -mean(mask * KL(t || s)) with mask = [argmax s == argmax t].

    Minimising it makes the generator seek samples where the student still agrees with the teacher but is far
    from it in distribution."""
    kl = kl_per_sample(student_logits, teacher_logits)
    mask = (student_logits.argmax(1) == teacher_logits.argmax(1)).to(kl.dtype)
    return -(kl * mask).mean()


def divergence_adversarial_loss(student_logits, teacher_logits):
    """ZSKT/DFQ adversarial term: -KL(t || s) averaged over the batch (no agreement mask)."""
    return -kl_per_sample(student_logits, teacher_logits).mean()


def l1_logits(student_logits, teacher_logits):
    """Mean absolute difference of the logits (DFAD's distillation criterion)."""
    return F.l1_loss(upcast(student_logits), upcast(teacher_logits))


def l1_adversarial_loss(student_logits, teacher_logits):
    """DFAD adversarial term: -mean |t - s| on the logits."""
    return -l1_logits(student_logits, teacher_logits)


def class_balance_loss(teacher_logits, rows=None):
    """DAFL information-entropy term: negative entropy of the batch-mean prediction (minimal when uniform).
    `rows`: the logits are one rank's rows of a batch split over ranks (engine.global_batch): the mean is the
    whole batch's, the value this rank's share."""
    p = F.softmax(upcast(teacher_logits), dim=1)
    p = all_sum(p.sum(0)) / rows.total if rows is not None and rows.sharded else p.mean(0)
    return stat_share((p * torch.log(p.clamp_min(1e-12))).sum())


def activation_loss(features):
    """DAFL activation term: -mean |features| (rewards strong teacher activations)."""
    return -upcast(features).abs().mean()


def js_divergence(student_logits, teacher_logits, T=1.0):
    """The reference DeepInversion's Jensen-Shannon term: with P, Q the softmaxes at temperature T and
    M = (P + Q) / 2, all three clamped to [0.01, 0.99], 0.5 * KL(M || P) + 0.5 * KL(M || Q), each summed over
    classes and averaged over the batch."""
    p = F.softmax(upcast(student_logits) / T, dim=1)
    q = F.softmax(upcast(teacher_logits) / T, dim=1)
    m = (0.5 * (p + q)).clamp(0.01, 0.99)
    p, q = p.clamp(0.01, 0.99), q.clamp(0.01, 0.99)
    return 0.5 * F.kl_div(p.log(), m, reduction="batchmean") + 0.5 * F.kl_div(q.log(), m, reduction="batchmean")


def js_adversarial_loss(student_logits, teacher_logits):
    """DeepInversion's adversarial term: -JS(student, teacher) at temperature 3, no agreement mask."""
    return -js_divergence(student_logits, teacher_logits, T=3.0)


def total_variation(x):
    """DeepInversion's image prior: mean absolute difference to the right, down and both diagonal neighbours,
    summed over the four directions."""
    diffs = (x[:, :, :, :-1] - x[:, :, :, 1:], x[:, :, :-1, :] - x[:, :, 1:, :],
             x[:, :, 1:, :-1] - x[:, :, :-1, 1:], x[:, :, :-1, :-1] - x[:, :, 1:, 1:])
    return sum(d.abs().mean() for d in diffs)


def contrastive_loss(local_proj, global_proj, rows, temperature):
    """CMI's instance discrimination: the local view of sample i must pick the global view of sample i among
    the global views of all (current + cached) samples. Rows are projections, L2-normalised by the head; the
    global side is a fixed target (detached). The mean over the current batch and the mean over the cached rows
    are added, so the cached rows do not dilute the generator's gradient.

    `rows` (engine.global_batch.Rows): the local side holds this rank's rows of the current batch, then the cached
    rows; the global side every current row of the batch, then the cached rows. Returns this rank's share."""
    n_cached = len(local_proj) - rows.count
    dev = local_proj.device
    targets = torch.cat([torch.arange(rows.start, rows.start + rows.count, device=dev),
                         rows.total + torch.arange(n_cached, device=dev)])
    logits = upcast(local_proj) @ upcast(global_proj.detach()).t() / temperature
    per_row = F.cross_entropy(logits, targets, reduction="none")
    current = rows.mean_share(per_row[:rows.count].mean())
    return current + stat_share(per_row[rows.count:].mean()) if n_cached else current
