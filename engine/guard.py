"""Stop a run at the first non-finite loss, weight or metric, before anything non-finite is written."""
import math

import torch

from .errors import UserError


def module_is_finite(module):
    """Every floating-point parameter and buffer finite (one host sync for the whole module)."""
    flags = [torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point()]
    return not flags or bool(torch.stack(flags).all())


def _finite(value):
    if value is None:
        return True
    if isinstance(value, torch.nn.Module):
        return module_is_finite(value)
    if torch.is_tensor(value):
        return bool(torch.isfinite(value).all())
    return math.isfinite(value)


def ensure_finite(where, last_good=None, **values):
    """values: numbers, tensors or modules (all floating-point state). Raises one line naming the first
    non-finite value, where it happened and the last good checkpoint."""
    for name, value in values.items():
        if not _finite(value):
            keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was written"
            raise UserError(f"{where}: non-finite {name.replace('_', ' ')} (NaN or inf); stopped, {keep}. "
                            "Lower --lr (or the loss weights), or check the teacher checkpoint")
