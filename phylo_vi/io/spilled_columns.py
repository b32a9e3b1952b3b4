"""A float64 table kept on disk in row chunks and read back one column at a time.

A parameter trace has a row per MCMC sample; kept in RAM its values grow with the length of the
run, yet every diagnostic reads one column (one parameter) at a time. :class:`SpilledColumns`
writes each chunk of rows, as it is parsed, to an anonymous temporary file
(:class:`~phylo_vi.util.spill_file.SpillFile`, in ``$TMPDIR``), column-major (the chunk's
transpose), so that a column of a chunk is one contiguous run of bytes: reading a column costs
one ``pread`` per chunk and holds nothing but that column. The bytes are the doubles themselves,
so what is read back is exactly what was written.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.util.spill_file import SpillFile

_ITEM = np.dtype(np.float64).itemsize


class SpilledColumns:
    """A table of ``n_columns`` float64 columns, appended in chunks of rows to a temporary file."""

    def __init__(self, n_columns: int) -> None:
        self.n_columns = n_columns
        self._file = SpillFile()
        self._offsets: list[int] = []
        self._starts = [0]  # the first row of each chunk, then the number of rows

    @property
    def n_rows(self) -> int:
        return self._starts[-1]

    def append(self, rows: np.ndarray) -> None:
        """Write ``rows`` (n, n_columns) after the rows already written, column by column."""
        if rows.ndim != 2 or rows.shape[1] != self.n_columns:
            raise ValueError(f"rows of {self.n_columns} columns expected, got shape {rows.shape}")
        self._offsets.append(self._file.append(np.ascontiguousarray(rows.T, dtype=np.float64)))
        self._starts.append(self.n_rows + len(rows))

    def _chunks_from(self, start: int):
        """``(offset, n_rows, skip)`` of each chunk holding rows at or after ``start``."""
        for offset, first, end in zip(self._offsets, self._starts, self._starts[1:]):
            if end > start:
                yield offset, end - first, max(start - first, 0)

    def column(self, index: int, start: int = 0) -> np.ndarray:
        """Rows ``start:`` of column ``index``, in a new array (one read per chunk)."""
        if not 0 <= index < self.n_columns:
            raise IndexError(f"column {index} of a table of {self.n_columns}")
        pieces = [self._file.read(offset + (index * n_rows + skip) * _ITEM, n_rows - skip, np.float64)
                  for offset, n_rows, skip in self._chunks_from(start)]
        return np.concatenate(pieces) if pieces else np.empty(0)

    def rows(self, start: int = 0) -> np.ndarray:
        """Rows ``start:`` of every column: the whole table in memory, (n_rows - start, n_columns)."""
        out = np.empty((max(self.n_rows - start, 0), self.n_columns))
        row = 0
        for offset, n_rows, skip in self._chunks_from(start):
            chunk = self._file.read(offset, n_rows * self.n_columns, np.float64).reshape(self.n_columns, n_rows)
            out[row:row + n_rows - skip] = chunk[:, skip:].T
            row += n_rows - skip
        return out
