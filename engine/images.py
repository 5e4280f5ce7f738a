"""Reading image files. A damaged or unreadable one ends the run with one line naming it; with --skip_bad_images it
is skipped (the next readable item takes its place) and each skip is logged with the count so far."""
import sys

from PIL import Image

from .errors import UserError

# Set once by the entry script (engine.cli.start_run) before datasets are built; readers copy it at construction.
SKIP_BAD_IMAGES = {"enabled": False}
UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
_skipped = set()


class BadImageError(UserError):
    # One message argument: a DataLoader worker's exception is rebuilt in the main process from its text alone.
    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


def bad_image(path, err):
    return BadImageError(f"cannot read image {path} ({type(err).__name__}: {err}): remove or replace the file, or "
                         "pass --skip_bad_images to skip unreadable images (each skip is logged)", path)


def read_image(path, mode="RGB"):
    """The image at `path` converted to `mode`, fully decoded (a truncated file fails here, not later)."""
    try:
        with Image.open(path) as img:
            return img.convert(mode)
    except UNREADABLE as err:
        raise bad_image(path, err) from None


def note_skipped(path, what="image"):
    _skipped.add(path)
    print(f"warning: skipped unreadable {what} {path} ({len(_skipped)} skipped so far)", file=sys.stderr, flush=True)


def first_readable(getitem, index, length, skip):
    """getitem(index); when `skip`, an unreadable image is logged and the next index is tried instead."""
    for k in range(length):
        try:
            return getitem((index + k) % length)
        except BadImageError as err:
            if not skip:
                raise
            note_skipped(err.path)
    raise UserError(f"none of the {length} images of the dataset can be read")
