"""Run logging: console + text log, per-epoch CSV, TensorBoard and summary.json (main process only)."""
import csv
import json
import logging
import os
import tempfile


def write_json_atomic(obj, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


class RunLogger:
    """Writes everything a run reports under `save_dir`. With `enabled=False` (non-main ranks) it only prints
    warnings."""

    def __init__(self, save_dir, name="run", enabled=True, tensorboard=True):
        self.save_dir = save_dir
        self.enabled = enabled
        self.log = logging.getLogger(f"{name}@{os.path.abspath(save_dir)}")
        self.log.setLevel(logging.INFO if enabled else logging.WARNING)
        self.log.propagate = False
        self.log.handlers.clear()
        fmt = logging.Formatter("[%(asctime)s] %(message)s", "%m/%d %H:%M:%S")
        console = logging.StreamHandler()
        console.setFormatter(fmt)
        self.log.addHandler(console)
        self.writer = None
        if enabled:
            os.makedirs(save_dir, exist_ok=True)
            file_handler = logging.FileHandler(os.path.join(save_dir, "log.txt"))
            file_handler.setFormatter(fmt)
            self.log.addHandler(file_handler)
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                    self.writer = SummaryWriter(os.path.join(save_dir, "tb"))
                except ImportError:
                    self.log.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")

    def resume_at(self, epoch):
        """Forget what an interrupted run logged for epochs >= `epoch` (it will log them again): metrics.csv keeps
        its earlier rows, TensorBoard drops the later events."""
        if not self.enabled:
            return
        path = os.path.join(self.save_dir, "metrics.csv")
        if os.path.exists(path):
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
            if rows:
                kept = [rows[0]] + [r for r in rows[1:] if r and r[0].lstrip("-").isdigit() and int(r[0]) < epoch]
                with open(path, "w", newline="") as f:
                    csv.writer(f).writerows(kept)
        if self.writer is not None:
            from torch.utils.tensorboard import SummaryWriter
            self.writer.close()
            self.writer = SummaryWriter(os.path.join(self.save_dir, "tb"), purge_step=epoch)

    def info(self, msg):
        self.log.info(msg)

    def warning(self, msg):
        self.log.warning(msg)

    def log_args(self, args):
        for k, v in sorted(vars(args).items()):
            self.info(f"{k}: {v}")

    def scalars(self, step, **values):
        """One row per epoch in metrics.csv and TensorBoard scalars; None means 'not measured this epoch'."""
        if not self.enabled:
            return
        if self.writer is not None:
            for k, v in values.items():
                if v is not None:
                    self.writer.add_scalar(k, v, step)
            self.writer.flush()
        path = os.path.join(self.save_dir, "metrics.csv")
        row = {"epoch": step, **{k: ("" if v is None else v) for k, v in values.items()}}
        new = not os.path.exists(path)
        fields = list(row)
        if not new:   # a run resumed by an older version keeps its columns
            with open(path, newline="") as f:
                fields = next(csv.reader(f), fields)
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)

    def summary(self, **values):
        if self.enabled:
            write_json_atomic(values, os.path.join(self.save_dir, "summary.json"))

    def close(self):
        if self.writer is not None:
            self.writer.close()
        for h in list(self.log.handlers):
            h.close()
            self.log.removeHandler(h)
