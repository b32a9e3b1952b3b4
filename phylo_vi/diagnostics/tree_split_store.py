"""The sorted informative split ids of every tree, per run, on disk and streamed back in chunks.

The tree-by-tree diagnostics (RWTY windows, RF distances for the topological ESS, MCC scores)
need each tree's splits, in file order; kept in RAM they cost 4 bytes a split, about 4(n − 3)
bytes a tree of n taxa. Here trees are buffered up to :data:`CHUNK_ITEMS` split ids and tree
sizes (or a batch, when larger), then written in chunks of at most that many items to an anonymous
temporary file (:mod:`~phylo_vi.util.spill_file`, in ``$TMPDIR``): each
tree's number of splits and its ids as int32, 4(s + 1) bytes of disk for a tree of s splits.
Memory holds the buffer and 24 bytes per chunk; :meth:`TreeSplitStore.chunks` yields the trees
back in order as CSR ``(offsets, ids)`` of at most about :data:`CHUNK_ITEMS` items.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from phylo_vi.util.spill_file import SpillFile

CHUNK_ITEMS = 1 << 20


class TreeSplitStore:
    """Per run, each tree's sorted split ids in file order (module docstring)."""

    def __init__(self, n_runs: int, chunk_items: int | None = None) -> None:
        self.chunk_items = CHUNK_ITEMS if chunk_items is None else chunk_items
        self._spill = SpillFile()
        self._chunks: list[list[tuple[int, int, int]]] = [[] for _ in range(n_runs)]  # (trees, splits, byte)
        self._pending: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_runs)]
        self._pending_items = [0] * n_runs

    def add(self, run: int, offsets: np.ndarray, ids: np.ndarray) -> None:
        """Append trees to ``run``: tree t's ids are ``ids[offsets[t]:offsets[t + 1]]`` (``offsets[0] == 0``)."""
        sizes = np.diff(offsets).astype(np.int32)
        self._pending[run].append((sizes, np.array(ids[:offsets[-1]], dtype=np.int32)))
        self._pending_items[run] += len(sizes) + int(offsets[-1])
        if self._pending_items[run] >= self.chunk_items:
            self._flush(run)

    def _flush(self, run: int) -> None:
        """Write the buffered trees as chunks of at most ``chunk_items`` items (at least one tree each)."""
        if self._pending[run]:
            sizes = np.concatenate([sizes for sizes, _ in self._pending[run]])
            ids = np.concatenate([ids for _, ids in self._pending[run]])
            offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=offsets[1:])
            items = offsets[1:] + np.arange(1, len(sizes) + 1)  # sizes and ids up to each tree
            first = 0
            while first < len(sizes):
                done = items[first - 1] if first else 0
                end = max(first + 1, int(np.searchsorted(items, done + self.chunk_items, side="right")))
                start = self._spill.append(sizes[first:end])
                self._spill.append(ids[offsets[first]:offsets[end]])
                self._chunks[run].append((end - first, int(offsets[end] - offsets[first]), start))
                first = end
        self._pending[run], self._pending_items[run] = [], 0

    def finish(self) -> None:
        """Write what is still buffered (call once every tree is added)."""
        for run in range(len(self._chunks)):
            self._flush(run)

    def chunks(self, run: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(offsets, ids)`` for consecutive trees of ``run`` in file order, chunk by chunk: tree t of the
        chunk has the sorted ids ``ids[offsets[t]:offsets[t + 1]]``."""
        for n_trees, n_splits, start in self._chunks[run]:
            items = self._spill.read(start, n_trees + n_splits, np.dtype(np.int32))
            offsets = np.zeros(n_trees + 1, dtype=np.int64)
            np.cumsum(items[:n_trees], out=offsets[1:])
            yield offsets, items[n_trees:]

    def close(self) -> None:
        """Delete the splits (close the temporary file)."""
        self._spill.close()

    @property
    def disk_bytes(self) -> int:
        """Bytes of the temporary file."""
        return self._spill.size
