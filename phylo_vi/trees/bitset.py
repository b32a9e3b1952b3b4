"""Clades and splits as bitsets over the taxon namespace, for any number of taxa.

A bitset is a row of ``n_words = ceil(n_taxa / 64)`` unsigned 64-bit words; taxon ``i`` is bit
``i % 64`` of word ``i // 64``. Arrays of bitsets have shape ``(n_sets, n_words)``. An
unrooted split is stored by the side that does *not* hold taxon 0 (MrBayes ``.parts`` keeps
the side of taxon 1 the same way), so every split has one representation.
"""
from __future__ import annotations

import numpy as np
from numba import njit

WORD_BITS = 64


def n_words(n_taxa: int) -> int:
    """Number of 64-bit words needed for ``n_taxa`` bits."""
    return max(1, -(-n_taxa // WORD_BITS))


def full_bitset(n_taxa: int) -> np.ndarray:
    """Bitset with bits ``0 .. n_taxa - 1`` set."""
    words = np.zeros(n_words(n_taxa), dtype=np.uint64)
    for taxon in range(n_taxa):
        words[taxon // WORD_BITS] |= np.uint64(1) << np.uint64(taxon % WORD_BITS)
    return words


def bitset_from_indices(indices, n_taxa: int) -> np.ndarray:
    """Bitset with the bits of ``indices`` set."""
    words = np.zeros(n_words(n_taxa), dtype=np.uint64)
    for taxon in indices:
        words[taxon // WORD_BITS] |= np.uint64(1) << np.uint64(taxon % WORD_BITS)
    return words


def bitset_indices(words: np.ndarray) -> list[int]:
    """Sorted taxon indices whose bits are set in one bitset."""
    return [w * WORD_BITS + b for w, word in enumerate(words.tolist()) for b in range(WORD_BITS) if (word >> b) & 1]


def bitset_to_int(words: np.ndarray) -> int:
    """One bitset as a Python integer (bit ``i`` = taxon ``i``)."""
    return int.from_bytes(np.ascontiguousarray(words, dtype="<u8").tobytes(), "little")


def int_to_bitset(value: int, n_taxa: int) -> np.ndarray:
    """Inverse of :func:`bitset_to_int`."""
    size = n_words(n_taxa)
    return np.frombuffer(value.to_bytes(8 * size, "little"), dtype="<u8").astype(np.uint64)


def bitset_to_string(words: np.ndarray, n_taxa: int) -> str:
    """MrBayes ``.parts`` notation: ``*`` for taxa in the set, ``.`` otherwise, taxon 0 first."""
    value = bitset_to_int(words)
    return "".join("*" if (value >> taxon) & 1 else "." for taxon in range(n_taxa))


def popcount(bitsets: np.ndarray) -> np.ndarray:
    """Number of set bits of each row of ``bitsets`` (shape ``(..., n_words)``)."""
    as_bytes = np.ascontiguousarray(bitsets, dtype="<u8").view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


def normalize_splits(bitsets: np.ndarray, n_taxa: int) -> np.ndarray:
    """Represent each split by the side without taxon 0 (complement rows that contain it)."""
    full = full_bitset(n_taxa)
    holds_first = (bitsets[..., 0] & np.uint64(1)).astype(bool)
    return np.where(holds_first[..., None], bitsets ^ full, bitsets)


def sort_bitsets(bitsets: np.ndarray) -> np.ndarray:
    """Rows sorted lexicographically, most significant word first (a canonical order)."""
    if len(bitsets) == 0:
        return bitsets
    order = np.lexsort(bitsets.T)
    return bitsets[order]


def unique_bitsets(bitsets: np.ndarray) -> np.ndarray:
    """Distinct rows in canonical order."""
    if len(bitsets) == 0:
        return bitsets
    return sort_bitsets(np.unique(bitsets, axis=0))


@njit(cache=True, nogil=True)
def clade_bitsets_kernel(parent: np.ndarray, taxon: np.ndarray, n_words_: int) -> np.ndarray:
    """Clade of every node of a post-order tree: bits of the taxa below it (shape ``(n_nodes, n_words)``)."""
    n_nodes = parent.shape[0]
    clades = np.zeros((n_nodes, n_words_), dtype=np.uint64)
    for node in range(n_nodes):
        t = taxon[node]
        if t >= 0:
            clades[node, t // 64] |= np.uint64(1) << np.uint64(t % 64)
        p = parent[node]
        if p >= 0:
            for w in range(n_words_):
                clades[p, w] |= clades[node, w]
    return clades
