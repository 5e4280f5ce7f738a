"""Append-only storage of tensor rows in chunk files, for state that only grows (the synthetic image pool): a
checkpoint records how many rows it covers instead of holding them, so its cost does not grow with the rows."""
import glob
import os
import re

import torch

from .checkpoint import load_checkpoint, make_folder, save_atomic
from .errors import UserError

CHUNK = "chunk-{:012d}.pt"


class ChunkStore:
    """Rows of one growing sequence in `folder`: chunk-<first row>.pt holds the rows first..first+n-1. Rows written
    after the last checkpoint (a crash between a chunk and its checkpoint) are never read, and are replaced by the
    next write."""

    def __init__(self, folder):
        self.folder = folder

    def _chunks(self):
        """(first row, path) of every chunk, in order."""
        found = []
        for path in glob.glob(os.path.join(self.folder, "chunk-*.pt")):
            match = re.fullmatch(r"chunk-(\d+)\.pt", os.path.basename(path))
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def append(self, rows, first):
        """Write rows first..first+len(rows)-1 (atomically), dropping any chunk from `first` on."""
        self.drop_from(first)
        make_folder(self.folder)
        save_atomic({"rows": rows.cpu().contiguous()}, os.path.join(self.folder, CHUNK.format(first)))

    def drop_from(self, first):
        for start, path in self._chunks():
            if start >= first:
                _remove(path)

    def prune_before(self, first):
        """Remove the chunks that end at or before row `first` (no checkpoint needs them any more)."""
        chunks = self._chunks()
        for (_start, path), (nxt, _) in zip(chunks, chunks[1:], strict=False):
            if nxt <= first:
                _remove(path)

    def read(self, start, stop):
        """Rows start..stop-1 as one tensor; a missing or damaged chunk is a one-line UserError."""
        parts, row = [], start
        for first, path in self._chunks():
            if row >= stop:
                break
            rows = load_checkpoint(path, what="image pool chunk")["rows"]
            end = first + len(rows)
            if end <= row:
                continue
            if first > row:
                break
            parts.append(rows[row - first:min(end, stop) - first])
            row = min(end, stop)
        if row < stop:
            raise UserError(f"the image pool in {self.folder} lacks rows {row}..{stop - 1} that the checkpoint "
                            "needs (files deleted or moved?): restore the folder, or start the run afresh")
        return torch.cat(parts) if parts else None


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:   # another process of the run removed it first
        pass
