"""Numba kernels of the partition table: clade bitsets to ids, and each tree's informative splits.

- :class:`CladeIndex`: an open-addressing hash table (linear probing, Fibonacci hashing of the
  64-bit words; Knuth, TAOCP vol. 3, §6.4) giving every distinct clade bitset an id in order of
  first appearance, over a stream of batches; the rows are kept in that order (MrBayes' BST is
  built from them, :mod:`.mrbayes_partitions`).
- :func:`informative_splits`: the sorted ids of the informative splits of every tree (CSR), the
  input of the RF-distance and MCC kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = -1


@njit(cache=True, nogil=True)
def _slot(words: np.ndarray, mask: np.uint64) -> np.int64:
    h = np.uint64(0)
    for w in range(words.shape[0]):
        h = (h ^ words[w]) * _GOLDEN
        h ^= h >> np.uint64(29)
    return np.int64(h & mask)


@njit(cache=True, nogil=True)
def _index_kernel(words: np.ndarray, start: int, slots: np.ndarray, rows: np.ndarray, n_rows: int,
                  out: np.ndarray) -> tuple[int, int]:
    """Ids of ``words[start:]`` into ``out``; new rows appended to ``rows``.

    Returns (position reached, number of rows): stops early when ``rows`` is full or the table
    is half full, for the caller to grow them and call again from that position.
    """
    mask = np.uint64(slots.shape[0] - 1)
    width = words.shape[1]
    for i in range(start, words.shape[0]):
        s = _slot(words[i], mask)
        while True:
            row = slots[s]
            if row == _EMPTY:
                if n_rows >= rows.shape[0] or 2 * (n_rows + 1) > slots.shape[0]:
                    return i, n_rows
                for w in range(width):
                    rows[n_rows, w] = words[i, w]
                slots[s] = n_rows
                out[i] = n_rows
                n_rows += 1
                break
            same = True
            for w in range(width):
                if rows[row, w] != words[i, w]:
                    same = False
                    break
            if same:
                out[i] = row
                break
            s = (s + 1) & np.int64(mask)
    return words.shape[0], n_rows


@njit(cache=True, nogil=True)
def _rehash(slots: np.ndarray, rows: np.ndarray, n_rows: int) -> None:
    mask = np.uint64(slots.shape[0] - 1)
    slots[:] = _EMPTY
    for row in range(n_rows):
        s = _slot(rows[row], mask)
        while slots[s] != _EMPTY:
            s = (s + 1) & np.int64(mask)
        slots[s] = row


class CladeIndex:
    """Ids of clade bitsets (rows of ``width`` uint64 words) in order of first appearance."""

    def __init__(self, width: int, capacity: int = 1 << 12) -> None:
        self.width = width
        self.rows = np.zeros((capacity, width), dtype=np.uint64)
        self.slots = np.full(2 * capacity, _EMPTY, dtype=np.int32)
        self.n_rows = 0

    def ids(self, words: np.ndarray) -> np.ndarray:
        """The id of every row of ``words`` (n, width), new rows numbered in order."""
        words = np.ascontiguousarray(words, dtype=np.uint64)
        out = np.empty(len(words), dtype=np.int32)
        position = 0
        while True:
            position, self.n_rows = _index_kernel(words, position, self.slots, self.rows, self.n_rows, out)
            if position == len(words):
                return out
            if self.n_rows >= len(self.rows):
                grown = np.zeros((2 * len(self.rows), self.width), dtype=np.uint64)
                grown[:self.n_rows] = self.rows[:self.n_rows]
                self.rows = grown
            if 2 * (self.n_rows + 1) > len(self.slots):
                self.slots = np.empty(2 * len(self.slots), dtype=np.int32)
                _rehash(self.slots, self.rows, self.n_rows)

    @property
    def partitions(self) -> np.ndarray:
        return self.rows[:self.n_rows]


@njit(cache=True, nogil=True)
def informative_splits(ids: np.ndarray, node_offsets: np.ndarray, informative: np.ndarray,
                       out_offsets: np.ndarray, out_ids: np.ndarray) -> int:
    """Sorted informative ids of tree t in ``out_ids[out_offsets[t]:out_offsets[t + 1]]``; returns their total."""
    n = 0
    out_offsets[0] = 0
    for t in range(node_offsets.shape[0] - 1):
        first = n
        for node in range(node_offsets[t], node_offsets[t + 1]):
            value = ids[node]
            if informative[value]:
                j = n
                while j > first and out_ids[j - 1] > value:  # insertion sort: ~n/2 splits per tree
                    out_ids[j] = out_ids[j - 1]
                    j -= 1
                out_ids[j] = value
                n += 1
        out_offsets[t + 1] = n
    return n
