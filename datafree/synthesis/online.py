"""Shared by DAFL, ZSKT, DFQ and DFAD: one persistent generator trained online against the student.

No pool: every KD step draws fresh samples from the generator (in eval mode, as zju-vipa/CMI's code, whose
runs are the paper's baseline rows). A method sets its adversarial criterion and its student KD criterion
(KL at T=1 whatever --T says, as the reference). Loss weights are exactly the flags given."""
import contextlib
import functools

import torch
import torch.nn as nn

from engine import distributed
from engine.errors import UserError
from engine.global_batch import Rows, report
from engine.train import kd_loss

from .base import Synthesizer
from .hooks import BNStatistics, FeatureHooks
from .losses import activation_loss, class_balance_loss, divergence_adversarial_loss, one_hot_loss


class OnlineGeneratorSynthesizer(Synthesizer):
    online = True
    large_generator = True   # zju-vipa/CMI builds its LargeGenerator for these methods
    # (student_logits, teacher_logits) -> the loss the generator minimises when --adv > 0: -KL as the reference's
    # generative synthesizer for every method but DFAD
    adversarial = staticmethod(divergence_adversarial_loss)
    student_loss = staticmethod(functools.partial(kd_loss, T=1.0))
    reference_flags = ""     # the reference script's weights, for the error message

    def __init__(self, teacher, student, generator, nz=256, g_steps=1, lr_g=1e-3, adv=0.0, bn=0.0, oh=0.0, act=0.0,
                 balance=0.0, bn_mmt=0.0, **common):
        super().__init__(teacher, student, **common)
        weights = dict(adv=adv, bn=bn, oh=oh, act=act, balance=balance)
        if not any(weights.values()):
            name = type(self).__name__.replace("Synthesizer", "").lower()
            raise UserError(f"--method {name}: every loss weight is 0, so the generator would never learn; "
                            f"give the weights (the reference script uses {self.reference_flags})")
        self.weights = weights
        self.generator = generator.to(self.device).train()
        self.nz, self.g_steps = nz, g_steps
        self.optimizer = self.adam(self.generator.parameters(), lr_g)
        self.bn_stats = BNStatistics(teacher, bn_mmt) if weights["bn"] > 0 else None
        # The activation term reads the features entering the teacher's last linear layer.
        classifier = [m for m in teacher.modules() if isinstance(m, nn.Linear)][-1:]
        self.penultimate = FeatureHooks(classifier, inputs=True)
        distributed.broadcast_module_(self.generator)

    def generator_loss(self, x):
        """This rank's share of the generator's loss on its rows x (engine.global_batch), and the shares of its
        parts."""
        w = self.weights
        x = self.normalizer(x)
        bn_hooks = self.bn_stats.attached() if self.bn_stats else contextlib.nullcontext()
        with self.autocast(), bn_hooks, self.penultimate.attached():
            t_logits = self.teacher(x)
        parts = {}
        rows = self.rows
        if w["oh"] > 0:
            parts["loss_oh"] = rows.mean_share(one_hot_loss(t_logits, t_logits.argmax(1)))
        if w["act"] > 0:
            parts["loss_act"] = rows.mean_share(activation_loss(self.penultimate.features[0]))
        if w["balance"] > 0:
            parts["loss_balance"] = class_balance_loss(t_logits, rows)
        if w["bn"] > 0:
            parts["loss_bn"] = self.bn_stats.loss()
        if w["adv"] > 0:
            with self.autocast():
                s_logits = self.student(x)
            parts["loss_adv"] = rows.mean_share(self.adversarial(s_logits, t_logits))
        loss = sum(w[name[len("loss_"):]] * value for name, value in parts.items())
        return loss, {k: v.detach() for k, v in parts.items()}

    def synthesize(self):
        """g_steps generator updates on fresh latent batches."""
        self.epoch += 1
        self.generator.train()
        with self.synthesis_mode():
            for _ in range(self.g_steps):
                x = self.generator(self.randn(self.nz))
                loss, parts = self.generator_loss(x)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                distributed.sum_gradients(list(self.generator.parameters()))
                self.optimizer.step()
        if self.bn_stats is not None:
            self.bn_stats.update_moving()
        return {"images": x.detach(), **report({"loss": loss.detach(), **parts})}

    @torch.no_grad()
    def sample(self):
        """This rank's rows of a fresh KD batch."""
        self.generator.eval()
        return self.normalizer(self.generator(self.randn(self.nz, rows=Rows(self.batch_size))))

    def state_dict(self):
        state = {**super().state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.bn_stats is not None:
            state["bn_stats"] = self.bn_stats.state_dict()
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.bn_stats is not None:
            self.bn_stats.load_state_dict(state["bn_stats"])
