"""User-facing errors: one clear line instead of a traceback."""
import functools
import sys


class UserError(Exception):
    """A problem the user can fix (bad flag, missing file, unknown name)."""


def cli_entry(main):
    """Wrap an entry point so that a UserError ends the program with one line and exit code 2."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
    return wrapper
