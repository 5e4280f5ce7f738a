"""The frozen teacher of the KD steps: an inference-only copy with every BatchNorm that directly follows a
convolution folded into it (exact in eval mode), in channels_last (faster for inference on CPU and GPU),
optionally compiled. Synthesis keeps the original teacher: it reads the BatchNorm statistics and needs gradients
through the teacher."""
import copy
import inspect
import time

import torch
from torch import fx, nn
from torch.fx.experimental.optimization import fuse


def fold_batchnorm(model):
    """A copy of `model` (eval mode) in which each BatchNorm2d fed only by a Conv2d is folded into that conv.
    Returns (module, folded, total BatchNorm2d count); a model fx cannot trace is returned as an unfolded copy.

    The folding is torch.fx.experimental.optimization.fuse (conv -> bn, the conv's output used by the bn alone).
    Ours is only the trace: fuse's own symbolic_trace fails on the classifiers' `return_features` branch, so we
    trace the logits-only path and hand fuse the graph. What fuse leaves are the pre-activation BatchNorms of the
    WRN blocks (sum -> bn -> relu -> conv): a ReLU between them and the next conv makes them unfoldable into it,
    and what feeds them is a residual sum, or a conv whose output the shortcut also reads; no code can fold
    those exactly, so there is nothing of our own to add for them."""
    model = copy.deepcopy(model).eval()
    total = _batchnorms(model)
    try:
        traced = fx.GraphModule(model, fx.Tracer().trace(model, concrete_args=_concrete_args(model)))
    except Exception:   # data-dependent control flow: nothing folded, still exact
        return model, 0, total
    folded_model = fuse(traced, inplace=True, no_trace=True)
    return folded_model, total - _batchnorms(folded_model), total


def _batchnorms(model):
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def _concrete_args(model):
    # The classifiers' forward(x, return_features=False) branches on the flag: trace the logits-only path.
    params = inspect.signature(model.forward).parameters
    return {"return_features": False} if "return_features" in params else None


class FrozenTeacher(nn.Module):
    """Logits of a frozen teacher under torch.inference_mode (returned as ordinary tensors, usable as KD targets)."""

    def __init__(self, model, fold=True, channels_last=True, compile=False):
        super().__init__()
        if fold:
            model, self.folded, self.batchnorms = fold_batchnorm(model)
        else:
            model, self.folded, self.batchnorms = copy.deepcopy(model).eval(), 0, 0
        model.requires_grad_(False)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.forward_fn = torch.compile(model) if compile else model
        self.compile_seconds = 0.0

    def forward(self, x):
        with torch.inference_mode():
            logits = self.forward_fn(x)
        return logits.clone()   # inference tensors cannot be saved for backward; a clone is an ordinary tensor

    def warm_up(self, example):
        """Run once on `example` (compiles when asked); returns and records the seconds it took."""
        t0 = time.time()
        self(example)
        if example.device.type == "cuda":
            torch.cuda.synchronize(example.device)
        self.compile_seconds = time.time() - t0
        return self.compile_seconds

    def describe(self):
        fold = f"{self.folded} of {self.batchnorms} BatchNorms folded" if self.batchnorms else "BatchNorm kept"
        return f"frozen teacher for KD: {fold}{', compiled' if self.forward_fn is not self.model else ''}"


def compile_student_step(model, example, enabled):
    """torch.compile of `model` for the KD steps (the same parameters; synthesis keeps using `model` itself),
    warmed up by one forward and backward on `example` with BatchNorm buffers and gradients put back, so the
    run's numbers are untouched. Returns (module for the KD steps, compile seconds)."""
    if not enabled:
        return model, 0.0
    compiled = torch.compile(model)
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    t0 = time.time()
    was_training = model.training
    model.train()
    compiled(example).float().sum().backward()
    model.train(was_training)
    if example.device.type == "cuda":
        torch.cuda.synchronize(example.device)
    seconds = time.time() - t0
    model.load_state_dict(buffers)
    for p in model.parameters():
        p.grad = None
    return compiled, seconds


def kd_models(teacher, student, args, run, image_shape, batch_size):
    """The teacher and student modules of the KD steps as --kd_teacher and --compile ask (the run's `teacher` and
    `student` stay as they are for synthesis, evaluation and checkpoints). Returns (teacher, student, compile
    seconds) and logs what was done."""
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    example = torch.zeros((batch_size, *image_shape), device=run.device).contiguous(memory_format=fmt)
    seconds = 0.0
    if args.kd_teacher == "frozen":
        teacher = FrozenTeacher(teacher, compile=args.compile)
        if args.compile:
            seconds += teacher.warm_up(example)
        run.logger.info(teacher.describe())
    student, student_seconds = compile_student_step(student, example, args.compile)
    seconds += student_seconds
    if args.compile:
        run.logger.info(f"torch.compile of the KD models: {seconds:.1f}s (counted in wall time, not in KD time)")
    return teacher, student, seconds
