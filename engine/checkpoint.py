"""Atomic checkpoint writing and safe loading with clear errors."""
import errno
import glob
import os
import pickle
import re
import tempfile

import torch

from .errors import UserError

TEMP_PREFIX = ".tmp-"
_trusted = {"pickles": False}


def trust_pickles(flag):
    """--trust_checkpoint: allow checkpoints whose pickle would run arbitrary code (default: refused)."""
    _trusted["pickles"] = bool(flag)


def io_error(action, path, err):
    code = errno.errorcode.get(getattr(err, "errno", None) or 0, "")
    reason = getattr(err, "strerror", None) or (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return UserError(f"could not {action} {path}: {reason}{f' ({code})' if code else ''}")


def make_folder(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:   # e.g. a regular file in the way, or no permission
        raise io_error("create the folder", folder, err) from None


def save_atomic(obj, path):
    """torch.save to a temp file in the same folder, then rename: a crash never leaves a torn file, and a failed
    write (disk full, no permission) leaves the previous file as it was and ends with one line."""
    folder = os.path.dirname(os.path.abspath(path))
    make_folder(folder)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".pth")
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
        cause = _os_error_in(err)
        if cause is None and isinstance(err, RuntimeError) and "write" in str(err).lower():
            cause = err   # torch.save's zip writer reports a failed write as RuntimeError("... file write failed")
        if cause is None:
            raise
        kept = " (the previous file is unchanged)" if os.path.exists(path) else ""
        raise UserError(f"{io_error('write', path, cause)}{kept}") from None


def _os_error_in(err):
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def remove_stale_temps(folder):
    """Temp files left by a process killed while writing a checkpoint (one full checkpoint each)."""
    removed = []
    for tmp in glob.glob(os.path.join(folder, TEMP_PREFIX + "*")):
        try:
            os.remove(tmp)
            removed.append(tmp)
        except OSError:
            pass
    return removed


def load_checkpoint(path, map_location="cpu", what="checkpoint"):
    """Load a checkpoint dict with torch.load(weights_only=True) (tensors and plain containers only, unless
    --trust_checkpoint); missing, unsafe or unreadable files raise a one-line UserError."""
    if not os.path.isfile(path):
        raise UserError(f"{what} not found: {path} (check the path, or train it first)")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=not _trusted["pickles"])
    except pickle.UnpicklingError as err:
        if "weights_only" not in str(err).lower() and "weights only" not in str(err).lower():
            raise UserError(f"{what} {path} is corrupted or not a torch checkpoint ({_first_line(err)}); "
                            "re-create it or point to another file") from None
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        needs = f" ({found.group(1)})" if found else ""
        raise UserError(f"{what} {path} holds Python objects{needs} whose loading could run arbitrary code: refused; "
                        "pass --trust_checkpoint only if you trust where the file comes from") from None
    except ModuleNotFoundError as err:
        raise UserError(f"{what} {path} needs the Python module '{err.name}', which is not installed: install it "
                        "(the file itself may be fine)") from None
    except Exception as err:
        raise UserError(f"{what} {path} is corrupted or not a torch checkpoint ({_first_line(err)}); "
                        "re-create it or point to another file") from None
    if not isinstance(ckpt, dict):
        raise UserError(f"{what} {path} is not a checkpoint dict")
    return ckpt


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:120]}" if text else type(err).__name__


def load_weights(model, path, what="checkpoint", key="state_dict"):
    """Load `ckpt[key]` (or a bare state_dict) strictly into `model`, naming any mismatch."""
    ckpt = load_checkpoint(path, what=what)
    load_state_strict(model, strip_module_prefix(ckpt.get(key, ckpt)), f"{what} {path}")
    return ckpt


def strip_module_prefix(state_dict):
    """Weights saved from a DataParallel/DDP-wrapped model (as the reference code saves them) have 'module.' keys."""
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state_dict.items()}


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
            parts.append(f"{len(wrong)} shape mismatch(es), e.g. {k}: file {tuple(state[k].shape)} "
                         f"vs model {tuple(own[k].shape)}")
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
        raise UserError(f"{source} does not fit the model ({'; '.join(parts)}): "
                        "check --model/--teacher/--student, --dataset (number of classes) and the channel count")
    model.load_state_dict(state, strict=True)


def load_run_checkpoint(path, map_location="cpu"):
    """A checkpoint to resume from: a dict holding 'state_dict' (not a bare state_dict of weights)."""
    ckpt = load_checkpoint(path, map_location=map_location)
    if not isinstance(ckpt.get("state_dict"), dict):
        raise UserError(f"--resume {path} is a bare state_dict, not a run checkpoint: resume from the run's last "
                        "checkpoint, or pass a teacher's weights as --teacher_ckpt")
    return ckpt


def restore_training(path, device, model, optimizer=None, scheduler=None):
    """Resume from a training checkpoint: the weights always, optimizer and scheduler state when given.
    Returns the checkpoint dict for the caller's own counters."""
    ckpt = load_run_checkpoint(path, map_location=device)
    load_state_strict(model, ckpt["state_dict"], f"checkpoint {path}")
    if optimizer is not None and "optimizer" in ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and "scheduler" in ckpt:
        scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt
