"""User-facing errors: one clear line instead of a traceback."""
import functools
import signal
import sys


class UserError(Exception):
    """A problem the user can fix (bad flag, missing file, unknown name)."""


class Terminated(BaseException):
    """SIGTERM (what Slurm and other schedulers send before preemption)."""


class Preempted(BaseException):
    """A run stopped by a signal after saving its state; cli_entry prints `message` and exits with `code`."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


_hint = {"resume": ""}


def set_resume_hint(text):
    """How to continue the current run, printed when it is interrupted."""
    _hint["resume"] = text


def _raise_terminated(signum, frame):
    raise Terminated()


def one_line(err):
    """The message; for an error re-raised from a DataLoader worker (its text is the worker's traceback), the
    original message only."""
    text = str(err)
    if "Original Traceback" in text:
        last = text.strip().splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return text


def cli_entry(main):
    """Wrap an entry point: a UserError ends the program with one line and exit code 2; Ctrl-C (130) and
    SIGTERM (143) end it with one line saying how to resume. Checkpoints are written atomically, so the last
    completed one is intact."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {one_line(err)}", file=sys.stderr)
            sys.exit(2)
        except Preempted as err:          # the state was saved before: say so and how to continue
            print(err.message, file=sys.stderr)
            sys.exit(err.code)
        except (KeyboardInterrupt, Terminated) as err:
            interrupted = isinstance(err, KeyboardInterrupt)
            what, code = ("interrupted (Ctrl-C)", 130) if interrupted else ("terminated (SIGTERM)", 143)
            hint = f"; {_hint['resume']}" if _hint["resume"] else ""
            print(f"{what}: progress since the last completed epoch is lost{hint}", file=sys.stderr)
            sys.exit(code)
        finally:
            signal.signal(signal.SIGTERM, previous)
    return wrapper
