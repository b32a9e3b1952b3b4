"""An append-only anonymous temporary file for arrays that are written once and read back in pieces.

The per-tree data of a tree sample (branch lengths, split ids) grows with the number of trees;
kept in RAM it sets the peak memory of ``analyze``. A :class:`SpillFile` holds it on disk
instead: ``tempfile.TemporaryFile`` (in ``$TMPDIR``, unlinked at once, so nothing is left behind
even after a crash), written at its end and read back with ``os.preadv`` into fresh arrays. The
pages read are the page cache's, not the process's: unlike a memory map they do not count in the
resident set size. The file is closed when its owner is closed or garbage-collected.
"""
from __future__ import annotations

import os
import tempfile
import weakref

import numpy as np

from phylo_vi.errors import PhyloVIError


class SpillFile:
    """Arrays appended to an unlinked temporary file and read back by byte offset."""

    def __init__(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(buffering=0)
        except OSError as error:
            raise _unwritable(error) from None
        self._closer = weakref.finalize(self, self._file.close)
        self.size = 0

    def append(self, array: np.ndarray) -> int:
        """Write ``array``'s bytes at the end of the file; returns their offset."""
        offset = self.size
        view = memoryview(np.ascontiguousarray(array)).cast("B")
        try:
            while view:
                view = view[self._file.write(view):]
        except OSError as error:
            raise _unwritable(error) from None
        self.size += array.nbytes
        return offset

    def read(self, offset: int, count: int, dtype: np.dtype) -> np.ndarray:
        """The ``count`` items of ``dtype`` written at byte ``offset``, in a new array."""
        out = np.empty(count, dtype=dtype)
        view = memoryview(out).cast("B")
        while view:
            done = os.preadv(self._file.fileno(), [view], offset)
            if done == 0:
                raise PhyloVIError(f"the temporary spill file ends at byte {offset}, before the bytes asked for "
                                  "(was it truncated, or $TMPDIR full?)")
            view, offset = view[done:], offset + done
        return out

    @property
    def closed(self) -> bool:
        return self._file.closed

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        """Close (and so free) the file; reads fail afterwards."""
        self._closer()


def _unwritable(error: OSError) -> PhyloVIError:
    return PhyloVIError(f"cannot write a temporary file in {tempfile.gettempdir()} ({error.strerror or error}); "
                        "set TMPDIR to a folder with room for it")
