"""Atomic checkpoint writing and loading with clear errors."""
import os
import tempfile

import torch

from .errors import UserError


def save_atomic(obj, path):
    """torch.save to a temp file in the same folder, then rename: a crash never leaves a torn file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pth")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(path, map_location="cpu", what="checkpoint"):
    """Load a checkpoint dict; missing or unreadable files raise a one-line UserError."""
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path} (check the path, or train it first)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:
        raise UserError(f"{what} {path} is corrupted or not a torch checkpoint "
                        f"({type(err).__name__}); delete it and save it again") from None
    if not isinstance(ckpt, dict):
        raise UserError(f"{what} {path} is not a checkpoint dict")
    return ckpt


def load_weights(model, path, what="checkpoint", key="state_dict"):
    """Load `ckpt[key]` (or a bare state_dict) strictly into `model`, naming any mismatch."""
    ckpt = load_checkpoint(path, what=what)
    state = ckpt.get(key, ckpt)
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    load_state_strict(model, state, f"{what} {path}")
    return ckpt


def load_state_strict(model, state, source):
    own = model.state_dict()
    # Weights saved before BatchNorm counted its batches (e.g. torchvision's original ImageNet files) lack
    # these counters; they only matter for momentum=None, so the model's own values stand in.
    state = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked")}, **state}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} shape mismatch(es), e.g. {k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}")
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
        raise UserError(f"{source} does not fit the model ({'; '.join(parts)}): "
                        "check --model/--teacher/--student, --dataset (number of classes) and the channel count")
    model.load_state_dict(state, strict=True)


def restore_training(path, device, model, optimizer=None, scheduler=None):
    """Resume from a training checkpoint: the weights always, optimizer and scheduler state when given.
    Returns the checkpoint dict for the caller's own counters."""
    ckpt = load_checkpoint(path, map_location=device)
    load_state_strict(model, ckpt["state_dict"], f"checkpoint {path}")
    if optimizer is not None and "optimizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and "scheduler" in ckpt:
        scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt
