"""What every synthesizer shares: the interface, the synthesis-mode switch and the inversion objective."""
import contextlib
import inspect

import torch

from engine.datasets import load_image_folder
from engine.global_batch import Rows, report
from engine.train import adam_kwargs

from .augment import Augment, make_augment
from .hooks import BNStatistics
from .losses import adversarial_loss, one_hot_loss
from .pool import ImagePool


class Synthesizer:
    """One call of `synthesize()` runs the generation step; `sample()` returns a normalised KD batch."""

    online = False            # True: fresh generator samples at every KD step instead of a pool
    needs_generator = True    # the entry script builds a Generator(nz=default_nz) for it
    large_generator = False   # ... or a LargeGenerator
    default_nz = 256
    student_loss = None       # KD criterion (student_logits, teacher_logits); None: KL divergence at --T

    def __init__(self, teacher, student, num_classes, img_shape, normalizer, device,
                 synthesis_batch_size=256, batch_size=256, autocast_dtype=None, warmup=0):
        self.teacher, self.student = teacher, student
        self.num_classes, self.img_shape = num_classes, tuple(img_shape)
        self.normalizer, self.device = normalizer, device
        self.augment = Augment(normalizer)
        # Batch sizes are global: under torchrun each rank holds its rows of every batch (engine.global_batch).
        self.synthesis_batch_size, self.batch_size = synthesis_batch_size, batch_size
        self.rows = Rows(synthesis_batch_size)
        self.autocast_dtype = autocast_dtype
        self.warmup = warmup
        self.epoch = 0

    @classmethod
    def from_args(cls, args, **common):
        """Build from argparse flags: every constructor keyword found on `args` is passed by name."""
        names = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                names.update(inspect.signature(klass.__init__).parameters)
        kwargs = {k: getattr(args, k) for k in names if k not in common and k != "self" and hasattr(args, k)}
        return cls(**common, **kwargs)

    def adam(self, params, lr, betas=(0.5, 0.999)):
        """The synthesizers' Adam (fused where available: same update, fewer passes over memory)."""
        return torch.optim.Adam(params, lr, betas=betas, **adam_kwargs(self.device))

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @contextlib.contextmanager
    def synthesis_mode(self, student_train=False):
        """Teacher and student in eval mode (the student in train mode if asked: NAYER's later loops) with frozen
        parameters: gradients flow only to the synthesizer."""
        student_training = self.student.training
        frozen = [p for m in (self.teacher, self.student) for p in m.parameters() if p.requires_grad]
        self.teacher.eval()
        self.student.train(student_train)
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)
            self.student.train(student_training)

    def random_targets(self, sort=False):
        """This rank's rows of uniform class targets for the synthesis batch; sorted (as CMI and DeepInversion
        do, for tidy image grids) when asked."""
        targets = torch.randint(0, self.num_classes, (self.synthesis_batch_size,), device=self.device)
        return self.rows.take(targets.sort()[0] if sort else targets)

    def randn(self, *shape, rows=None):
        """This rank's rows of a standard-normal tensor drawn for the whole batch (`rows`: the synthesis batch's)."""
        rows = rows or self.rows
        return rows.take(torch.randn(rows.total, *shape, device=self.device))

    def synthesize(self):
        raise NotImplementedError

    def sample(self):
        raise NotImplementedError

    def persist(self):
        """Write what lives outside the checkpoint (the pool's new images); called before `state_dict()`."""

    def state_dict(self):
        state = {"epoch": self.epoch}
        if hasattr(self, "generator"):   # every generator-based method resumes its generator
            state["generator"] = self.generator.state_dict()
        return state

    def load_state_dict(self, state):
        self.epoch = state["epoch"]
        if hasattr(self, "generator"):
            self.generator.load_state_dict(state["generator"])


class BestBatch:
    """Keeps the batch with the lowest loss seen, without a host sync per step."""

    def __init__(self):
        self.loss = self.x = None

    def update(self, loss, x):
        loss, x = loss.detach(), x.detach()
        if self.x is None:
            self.loss, self.x = loss, x
        else:
            better = loss < self.loss
            self.x = torch.where(better, x, self.x)
            self.loss = torch.minimum(loss, self.loss)


class LastBatch:
    """Keeps the batch of the last step (upstream's ImageNet synthesizer pools its last step's inputs)."""

    def __init__(self):
        self.loss = self.x = None

    def update(self, loss, x):
        self.loss, self.x = loss.detach(), x.detach()


KEPT_BATCH = {"best": BestBatch, "last": LastBatch}


class InversionSynthesizer(Synthesizer):
    """Model inversion into an image pool: L = bn * L_bn + oh * L_oh + adv * L_adv.

    `adversarial` is the method's L_adv (default: Fast's masked KL); `student_bn_weight` > 0 subtracts that
    multiple of the student's own BN-statistic loss from L_bn whenever the student sees the batch
    (the reference DeepInversion's variant). `kd_aug` names the KD batches' augmentation (default: crop + flip);
    methods that synthesize through `optimize_batch` (`view_flags`) also take `synthesis_aug` (default: the KD
    batches') and `pool_batch` ("best": the lowest-loss batch of a call, "last": its last step's)."""

    adversarial = staticmethod(adversarial_loss)
    student_bn_weight = 0.0
    view_flags = False

    def __init__(self, teacher, student, adv=0.0, bn=0.0, oh=0.0, bn_mmt=0.0, pool_size=0, pool_device="auto",
                 cmi_init=None, kd_aug=None, synthesis_aug=None, pool_batch="best", **common):
        super().__init__(teacher, student, **common)
        self.adv, self.bn, self.oh = adv, bn, oh
        if kd_aug:
            self.augment = make_augment(kd_aug, self.normalizer, "kd")
        self.synthesis_augment = make_augment(synthesis_aug, self.normalizer, "synthesis") if synthesis_aug else None
        self.kept_batch = KEPT_BATCH[pool_batch]
        self.bn_stats = BNStatistics(teacher, bn_mmt)
        self.student_bn_stats = BNStatistics(student) if self.student_bn_weight else None
        if pool_device == "auto":   # large images: host memory holds far more than the GPU
            pool_device = "cpu" if self.img_shape[-1] > 64 else "train"
        storage = torch.device("cpu") if pool_device == "cpu" else self.device
        self.pool = ImagePool(self.device, max_size=pool_size, storage_device=storage)
        if cmi_init:   # a folder of pre-inverted images joins the pool (the reference's init_dataset)
            self.pool.add(load_image_folder(cmi_init, self.img_shape).to(self.device))

    def adversarial_active(self):
        return self.adv > 0

    def inversion_loss(self, x_aug, targets):
        """x_aug: this rank's rows of the normalised, augmented batch the teacher sees. Returns (this rank's
        share of the loss, the shares of its parts, teacher logits); `report()` sums shares over ranks."""
        with self.autocast(), self.bn_stats.attached():
            t_logits = self.teacher(x_aug)
        loss_bn = self.bn_stats.loss()
        loss_oh = self.rows.mean_share(one_hot_loss(t_logits, targets))
        parts = {"loss_bn": loss_bn.detach(), "loss_oh": loss_oh.detach()}
        loss_adv = None
        if self.adversarial_active():
            student_hooks = self.student_bn_stats.attached() if self.student_bn_stats else contextlib.nullcontext()
            with self.autocast(), student_hooks:
                s_logits = self.student(x_aug)
            loss_adv = self.rows.mean_share(self.adversarial(s_logits, t_logits))
            parts["loss_adv"] = loss_adv.detach()
            if self.student_bn_stats:
                student_bn = self.student_bn_stats.loss()
                parts["loss_bn_student"] = student_bn.detach()
                loss_bn = loss_bn - self.student_bn_weight * student_bn
        loss = self.bn * loss_bn + self.oh * loss_oh
        if loss_adv is not None:
            loss = loss + self.adv * loss_adv
        return loss, parts, t_logits

    def synthesis_view(self, x):
        """What the teacher sees of a synthetic batch during synthesis: by default the KD batches' augmentation."""
        return (self.synthesis_augment or self.augment)(x, self.rows)

    def optimize_batch(self, generate, optimizer, targets, after_backward, student_train=False):
        """g_steps steps of the inversion objective on the images `generate()` returns (in [0, 1]);
        `after_backward(step)` runs between backward and the optimizer step. Returns the batch to pool (by default
        the lowest-loss one, BestBatch: the loss measured before that step's update, as the reference) and the last
        step's parts, both of the whole batch (every rank keeps the same step)."""
        best = self.kept_batch()
        with self.synthesis_mode(student_train):
            for step in range(self.g_steps):
                x = generate()
                loss, parts, _ = self.inversion_loss(self.synthesis_view(x), targets)
                parts = report({"loss": loss, **parts})
                best.update(parts.pop("loss"), x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                after_backward(step)
                optimizer.step()
        self.bn_stats.update_moving()
        return best, parts

    def sample(self):
        """This rank's rows of the next KD batch (drawn from the pool for the whole batch)."""
        idx = self.pool.next_indices(self.batch_size)
        rows = Rows(len(idx))
        return self.augment(self.pool.images_at(rows.take(idx)), rows)

    def persist(self):
        self.pool.persist()

    def state_dict(self):
        return {**super().state_dict(), "pool": self.pool.state_dict(), "bn_stats": self.bn_stats.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.pool.load_state_dict(state["pool"])
        self.bn_stats.load_state_dict(state["bn_stats"])
