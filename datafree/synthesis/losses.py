"""Loss terms of the synthesizers, each written once."""
import torch
import torch.nn.functional as F


def kl_per_sample(student_logits, teacher_logits, T=1.0):
    """KL(softmax(t/T) || softmax(s/T)) summed over classes, one value per sample."""
    log_p_s = F.log_softmax(student_logits.float() / T, dim=1)
    p_t = F.softmax(teacher_logits.float() / T, dim=1)
    return F.kl_div(log_p_s, p_t, reduction="none").sum(1)


def one_hot_loss(teacher_logits, targets):
    return F.cross_entropy(teacher_logits.float(), targets)


def adversarial_loss(student_logits, teacher_logits):
    """Fast/CMI/DeepInv adversarial term: -mean(mask * KL(t || s)) with mask = [argmax s == argmax t].

    Minimising it makes the generator seek samples where the student still agrees with the teacher but is far
    from it in distribution."""
    mask = (student_logits.argmax(1) == teacher_logits.argmax(1)).float()
    return -(kl_per_sample(student_logits, teacher_logits) * mask).mean()


def divergence_adversarial_loss(student_logits, teacher_logits):
    """ZSKT/DFQ adversarial term: -KL(t || s) averaged over the batch (no agreement mask)."""
    return -kl_per_sample(student_logits, teacher_logits).mean()


def l1_logits(student_logits, teacher_logits):
    """Mean absolute difference of the logits (DFAD's distillation criterion)."""
    return F.l1_loss(student_logits.float(), teacher_logits.float())


def l1_adversarial_loss(student_logits, teacher_logits):
    """DFAD adversarial term: -mean |t - s| on the logits."""
    return -l1_logits(student_logits, teacher_logits)


def class_balance_loss(teacher_logits):
    """DAFL information-entropy term: negative entropy of the batch-mean prediction (minimal when uniform)."""
    p = F.softmax(teacher_logits.float(), dim=1).mean(0)
    return (p * torch.log(p.clamp_min(1e-12))).sum()


def activation_loss(features):
    """DAFL activation term: -mean |features| (rewards strong teacher activations)."""
    return -features.float().abs().mean()


def js_divergence(student_logits, teacher_logits, T=1.0):
    """The reference DeepInversion's Jensen-Shannon term: with P, Q the softmaxes at temperature T and
    M = (P + Q) / 2, all three clamped to [0.01, 0.99], 0.5 * KL(M || P) + 0.5 * KL(M || Q), each summed over
    classes and averaged over the batch."""
    p = F.softmax(student_logits.float() / T, dim=1)
    q = F.softmax(teacher_logits.float() / T, dim=1)
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


def contrastive_loss(local_proj, global_proj, n_current, temperature):
    """CMI's instance discrimination: the local view of sample i must pick the global view of sample i among
    the global views of all (current + cached) samples. Rows are projections, L2-normalised by the head; the
    global side is a fixed target (detached). The first `n_current` rows are the current batch: their mean and
    the mean over the cached rows are added, so the cached rows do not dilute the generator's gradient."""
    logits = local_proj.float() @ global_proj.float().detach().t() / temperature
    per_row = F.cross_entropy(logits, torch.arange(len(logits), device=logits.device), reduction="none")
    if len(per_row) > n_current:
        return per_row[:n_current].mean() + per_row[n_current:].mean()
    return per_row.mean()
