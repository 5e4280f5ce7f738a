"""What defines a run, so that --resume continues the same run: compare the flags that shape it with the ones
saved in its checkpoint, and allow only the differences named by --resume_override."""
import hashlib
import os

from .errors import UserError


def file_digest(path):
    """sha256 of a file (the teacher's weights), or None when it does not exist."""
    if not path or not os.path.isfile(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_config(args, keys, **extra):
    return {**{k: getattr(args, k) for k in keys}, **extra}


def check_resume_config(saved, current, path, override=""):
    """Stop with one line naming every flag whose value differs from the run in `path`, unless it is listed in
    `override` (comma-separated). Returns the names that differ and were allowed."""
    allowed = {name.strip().lstrip("-") for name in override.split(",") if name.strip()}
    unknown = allowed - set(current)
    if unknown:
        raise UserError(f"--resume_override: {', '.join(sorted(unknown))} cannot be overridden; choose from "
                        f"{', '.join(sorted(current))}")
    if saved is None:
        return set()
    differ = {k for k in current if k in saved and saved[k] != current[k]}
    refused = sorted(differ - allowed)
    if refused:
        listed = "; ".join(f"--{k} {saved[k]} there, {current[k]} now" for k in refused)
        raise UserError(f"--resume {path} belongs to a run with other settings ({listed}): pass the same flags, "
                        f"or --resume_override {','.join(refused)} to continue with the new values")
    return differ
