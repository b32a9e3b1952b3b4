"""Sortable one-dimensional keys for rows of bitsets, and lookups of keys in sorted tables.

A bitset is a row of ``n_words`` uint64 words (:mod:`phylo_vi.trees.bitset`). For fast
deduplication and table lookups every row is turned into one sortable scalar: the word itself
when ``n_words == 1`` (up to 64 taxa), otherwise a structured record whose fields run from the
most significant word down, so that NumPy compares records lexicographically.
"""
from __future__ import annotations

import numpy as np


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


def pair_keys(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """Scalar key ``first * n_second + second`` of integer pairs (-1 when either is -1)."""
    first = np.asarray(first, dtype=np.int64)
    second = np.asarray(second, dtype=np.int64)
    return np.where((first < 0) | (second < 0), -1, first * np.int64(n_second) + second)
