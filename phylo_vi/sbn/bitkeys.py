"""Sortable one-dimensional keys for rows of bitsets, and lookups of keys in sorted tables.

A bitset is a row of ``n_words`` uint64 words (:mod:`phylo_vi.trees.bitset`). For fast
deduplication and table lookups every row is turned into one sortable scalar: the word itself
when ``n_words == 1`` (up to 64 taxa), otherwise a structured record whose fields run from the
most significant word down, so that NumPy compares records lexicographically.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def row_keys(bitsets: np.ndarray) -> np.ndarray:
    """One sortable key per row of ``bitsets`` (shape ``(n_sets, n_words)``)."""
    bitsets = np.ascontiguousarray(bitsets, dtype=np.uint64)
    n_words = bitsets.shape[1]
    if n_words == 1:
        return bitsets[:, 0].copy()
    dtype = np.dtype([(f"w{word}", "<u8") for word in range(n_words - 1, -1, -1)])
    keys = np.empty(len(bitsets), dtype=dtype)
    for word in range(n_words):
        keys[f"w{word}"] = bitsets[:, word]
    return keys


def keys_to_rows(keys: np.ndarray, n_words: int) -> np.ndarray:
    """Inverse of :func:`row_keys`: bitset rows of shape ``(n_keys, n_words)``."""
    if n_words == 1:
        return np.asarray(keys, dtype=np.uint64).reshape(-1, 1)
    return np.stack([keys[f"w{word}"] for word in range(n_words)], axis=1).astype(np.uint64)


def lookup(table: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of every query in the sorted, distinct ``table``; -1 where it is absent."""
    if len(table) == 0:
        return np.full(queries.shape, -1, dtype=np.int64)
    position = np.searchsorted(table, queries)
    position = np.minimum(position, len(table) - 1)
    return np.where(table[position] == queries, position, -1).astype(np.int64)


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _slot(slots, key, bits):
    """Slot of ``key`` in an open-addressing table of 2**bits slots (Fibonacci hashing, linear probing)."""
    mask = (1 << bits) - 1
    h = np.int64((np.uint64(key) * _FIBONACCI) >> np.uint64(64 - bits))
    while slots[h] != -1 and slots[h] != key:
        h = (h + 1) & mask
    return h


@njit(cache=True, nogil=True)
def empty_key_set():
    """An empty hash set of non-negative int64 keys: ``(slots, bits, size)`` for :func:`key_set_add`."""
    bits = 10
    return np.full(1 << bits, -1, dtype=np.int64), bits, 0


@njit(cache=True, nogil=True)
def key_set_add(slots, bits, size, key):
    """Add ``key`` (≥ 0) to the set; returns the (possibly regrown) ``(slots, bits, size)``. The table is
    kept at most half full."""
    h = _slot(slots, key, bits)
    if slots[h] == key:
        return slots, bits, size
    slots[h] = key
    size += 1
    if 2 * size > slots.size:
        bits += 1
        grown = np.full(1 << bits, -1, dtype=np.int64)
        for held in slots:
            if held >= 0:
                grown[_slot(grown, held, bits)] = held
        slots = grown
    return slots, bits, size


@njit(cache=True, nogil=True)
def key_set_ranks(slots, bits):
    """The set's keys sorted, and the rank of the key held in each slot (read by :func:`key_rank`)."""
    table = np.sort(slots[slots >= 0])
    rank = np.empty(slots.size, dtype=np.int64)
    for i in range(table.size):
        rank[_slot(slots, table[i], bits)] = i
    return table, rank


@njit(cache=True, nogil=True)
def key_rank(slots, bits, rank, key):
    """Rank of ``key`` among the set's sorted keys (``key`` must be in the set)."""
    return rank[_slot(slots, key, bits)]


@njit(cache=True, nogil=True)
def table_index(table):
    """Hash index of a sorted, distinct table of non-negative int64 keys: ``(slots, bits, rank)`` for
    :func:`table_position` (at most half full)."""
    bits = 10
    while (1 << bits) < 2 * table.size:
        bits += 1
    slots = np.full(1 << bits, -1, dtype=np.int64)
    rank = np.empty(1 << bits, dtype=np.int64)
    for i in range(table.size):
        h = _slot(slots, table[i], bits)
        slots[h] = table[i]
        rank[h] = i
    return slots, bits, rank


@njit(cache=True, nogil=True)
def table_position(slots, bits, rank, key):
    """Position of ``key`` (≥ 0) in the table indexed by :func:`table_index`, -1 when absent."""
    h = _slot(slots, key, bits)
    return rank[h] if slots[h] == key else -1


@njit(cache=True, nogil=True)
def distinct_ranks(keys):
    """Sorted distinct non-negative entries of an int64 array and the rank of every entry in them.

    Negative entries (codes such as "unknown" or "no factor") pass through unchanged. Same
    result as ``np.unique`` followed by a sorted lookup, in O(N) hash-table steps for N entries.
    """
    flat = keys.ravel()
    slots, bits, size = empty_key_set()
    for key in flat:
        if key >= 0:
            slots, bits, size = key_set_add(slots, bits, size, key)
    table, rank = key_set_ranks(slots, bits)
    out = np.empty(flat.size, dtype=np.int64)
    for i in range(flat.size):
        key = flat[i]
        out[i] = key if key < 0 else key_rank(slots, bits, rank, key)
    return table, out.reshape(keys.shape)
