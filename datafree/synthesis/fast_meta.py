"""Fast meta synthesis (the paper's method): inner steps on a copy of a meta generator, then a meta step."""
import torch

from .fast import FastSynthesizer


class FastMetaSynthesizer(FastSynthesizer):
    """is_maml=1: first-order MAML, meta gradient = sum of the inner gradients.
    is_maml=0: Reptile, meta gradient = reptile_scale * (theta_G - theta_G_fast)."""

    applies_resets = True

    def __init__(self, teacher, student, generator, is_maml=1, reptile_scale=67.0, **kwargs):
        super().__init__(teacher, student, generator, **kwargs)
        self.is_maml, self.reptile_scale = is_maml, reptile_scale
        self.meta_params = list(self.generator.parameters())
        self.meta_optimizer = self.adam(self.meta_params, self.lr_g * self.g_steps)

    def inner_generator(self):
        return self.generator.clone()

    def after_inner_backward(self, inner, step):
        super().after_inner_backward(inner, step)   # the inner copy takes the whole batch's steps on every rank
        if not self.is_maml:
            return
        if step == 0:
            for p in self.meta_params:
                p.grad = torch.zeros_like(p)
        inner_grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in inner.parameters()]
        torch._foreach_add_([p.grad for p in self.meta_params], inner_grads)
        if step == self.g_steps - 1:
            self.meta_step()

    def after_inner_loop(self, inner, z):
        if self.is_maml:
            return
        with torch.no_grad():
            for p, fast in zip(self.meta_params, inner.parameters(), strict=True):
                p.grad = self.reptile_scale * (p - fast)
        self.meta_step()

    def meta_step(self):   # the meta-gradient is already the whole batch's (the same on every rank)
        self.meta_optimizer.step()

    def state_dict(self):
        return {**super().state_dict(), "meta_optimizer": self.meta_optimizer.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.meta_optimizer.load_state_dict(state["meta_optimizer"])
