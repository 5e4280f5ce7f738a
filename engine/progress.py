"""Per-step progress of an epoch: a tqdm bar on a terminal; without one (a cluster log), a line every `every` steps
with the step, the loss, images per second and the epoch's ETA (upstream's -p/--print_freq)."""
import sys
import time

from tqdm import tqdm


class Progress:
    def __init__(self, iterable, total, desc, every=0, log=None, start=0):
        self.total, self.desc, self.start = total, desc, start
        self.lines = every > 0 and log is not None and not sys.stderr.isatty()
        self.every, self.log = every, log
        self.iterable = tqdm(iterable, total=total, initial=start, desc=desc, leave=False, disable=None)
        self.t0, self.images = time.time(), 0

    def __iter__(self):
        return iter(self.iterable)

    def update(self, step, loss, images):
        """After step `step` (0-based, counted from the epoch's start) on `images` images; `loss` is read (a host
        sync) only when a line is written."""
        self.images += images
        done = step + 1
        if not self.lines or (done % self.every and done != self.total):
            return
        loss = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        seconds = max(time.time() - self.t0, 1e-9)
        rate = self.images / seconds
        eta = seconds / max(done - self.start, 1) * (self.total - done)
        self.log(f"[{self.desc}] step {done}/{self.total} loss={loss:.4f} {rate:.1f} img/s "
                 f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
