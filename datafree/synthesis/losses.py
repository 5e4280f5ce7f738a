"""Loss terms of the synthesizers, each written once."""
import torch
import torch.nn.functional as F


def kl_per_sample(student_logits, teacher_logits, T=1.0):
    """KL(softmax(t/T) || softmax(s/T)) summed over classes, one value per sample."""
    log_p_s = F.log_softmax(student_logits.float() / T, dim=1)
    log_p_t = F.log_softmax(teacher_logits.float() / T, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="none", log_target=True).sum(1)


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


def total_variation(x):
    """Anisotropic l2 total variation prior of DeepInversion (mean over pixels)."""
    dh = x[:, :, 1:, :] - x[:, :, :-1, :]
    dw = x[:, :, :, 1:] - x[:, :, :, :-1]
    return dh.pow(2).mean() + dw.pow(2).mean()


def contrastive_loss(anchor, positive, negatives, temperature):
    """InfoNCE: anchor i must pick positive i among all positives of the batch and the `negatives` bank.

    anchor, positive: (N, D); negatives: (M, D) or None. Vectors are L2-normalised inside."""
    anchor = F.normalize(anchor.float(), dim=1)
    candidates = F.normalize(positive.float(), dim=1)
    if negatives is not None and len(negatives):
        candidates = torch.cat([candidates, F.normalize(negatives.float(), dim=1)])
    logits = anchor @ candidates.t() / temperature
    labels = torch.arange(len(anchor), device=anchor.device)
    return F.cross_entropy(logits, labels)
