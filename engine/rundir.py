"""A run folder belongs to one process at a time: a lock file naming its owner, released at exit."""
import atexit
import os
import socket

from .errors import UserError

LOCK = ".lock"


def _owner_alive(owner):
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True                       # another machine (shared file system): assume it is running
    if int(pid) == os.getpid():
        return False                      # this process (an earlier run in the same interpreter)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(folder):
    """Take the folder's lock, or stop with one line when a live process holds it. A stale lock (its process
    is gone) is taken over."""
    path = os.path.join(folder, LOCK)
    me = f"{socket.gethostname()}:{os.getpid()}"
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = f.read().strip()
            except OSError:
                owner = ""
            if owner and _owner_alive(owner):
                raise UserError(f"{folder} is in use by another run (process {owner}): wait for it to end, or pass "
                                f"another --save_dir (remove {path} only if that process is gone)") from None
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(me)
        atexit.register(release, folder)
        return path
    raise UserError(f"could not take the lock {path}: another process keeps creating it")


def release(folder):
    path = os.path.join(folder, LOCK)
    try:
        with open(path) as f:
            if f.read().strip() != f"{socket.gethostname()}:{os.getpid()}":
                return
        os.remove(path)
    except OSError:
        pass
