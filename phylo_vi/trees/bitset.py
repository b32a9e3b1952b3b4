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


_REVERSED_BYTE = np.array([int(f"{byte:08b}"[::-1], 2) for byte in range(256)], dtype=np.uint8)
_STRING_ROWS = 256


def bitset_strings(bitsets: np.ndarray, n_taxa: int) -> list[str]:
    """:func:`bitset_to_string` of every row of ``bitsets`` (vectorised, a few hundred rows at a time)."""
    rows = np.ascontiguousarray(bitsets, dtype="<u8")
    strings: list[str] = []
    for start in range(0, len(rows), _STRING_ROWS):
        bits = np.unpackbits(rows[start:start + _STRING_ROWS].view(np.uint8), axis=-1, bitorder="little")
        chars = np.where(bits[:, :n_taxa], np.uint8(ord("*")), np.uint8(ord(".")))
        strings += [row.tobytes().decode("ascii") for row in chars]
    return strings


def string_order_words(bitsets: np.ndarray) -> np.ndarray:
    """Words that sort, as unsigned integers with the first word most significant, as the bitstrings sort.

    In :func:`bitset_to_string` taxon 0 comes first and ``*`` (a set bit) sorts before ``.``: each
    word is bit-reversed (taxon ``64 w`` becomes its most significant bit) and complemented.
    """
    n_sets, n_words_ = bitsets.shape
    as_bytes = np.ascontiguousarray(bitsets, dtype="<u8").view(np.uint8).reshape(n_sets, n_words_, 8)
    reversed_words = _REVERSED_BYTE[as_bytes[:, :, ::-1]].reshape(n_sets, 8 * n_words_).view("<u8")
    return ~reversed_words.astype(np.uint64)


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


@njit(cache=True, nogil=True)
def leaf_set_kernel(taxon: np.ndarray, base: int, n_nodes: int, words: np.ndarray) -> None:
    """Bits of the taxa of nodes ``base .. base + n_nodes - 1`` into ``words`` (one bitset, cleared first)."""
    words[:] = 0
    for node in range(base, base + n_nodes):
        t = taxon[node]
        if t >= 0:
            words[t // 64] |= np.uint64(1) << np.uint64(t % 64)


@njit(cache=True, nogil=True)
def leaf_counts_kernel(parent: np.ndarray, taxon: np.ndarray) -> np.ndarray:
    """Number of leaves below every node of a post-order tree."""
    counts = np.zeros(parent.shape[0], dtype=np.int32)
    for node in range(parent.shape[0]):
        if taxon[node] >= 0:
            counts[node] += 1
        if parent[node] >= 0:
            counts[parent[node]] += counts[node]
    return counts


@njit(cache=True, nogil=True)
def topology_key_kernel(clades, counts, base, n_nodes, n_words, rooted, keys, k0, tmp) -> int:
    """Topology key of the tree in rows ``base .. base + n_nodes - 1`` of ``clades``.

    Writes the leaf set, then the distinct nontrivial splits (side without the tree's first
    taxon; rooted: the distinct nontrivial clades) sorted most significant word first, at
    ``keys[k0:]`` and returns the number of words written. ``counts[v]`` is the number of
    leaves below local node ``v``; ``tmp`` is scratch of at least ``max(n_nodes, n_words)``.
    """
    root = base + n_nodes - 1
    n_leaves = counts[n_nodes - 1]
    for w in range(n_words):
        keys[k0 + w] = clades[root, w]
    first_word, first_bit = 0, 0
    for w in range(n_words):
        if clades[root, w] != 0:
            x = clades[root, w]
            bit = 0
            while not (x >> np.uint64(bit)) & np.uint64(1):
                bit += 1
            first_word, first_bit = w, bit
            break
    start = k0 + n_words
    n_sets = 0
    last = n_nodes if rooted else n_nodes - 1
    for v in range(last):
        node = base + v
        size = counts[v]
        if rooted:
            if size < 2 or size >= n_leaves:
                continue
            row = start + n_sets * n_words
            for w in range(n_words):
                keys[row + w] = clades[node, w]
        else:
            flip = ((clades[node, first_word] >> np.uint64(first_bit)) & np.uint64(1)) != 0
            if flip:
                size = n_leaves - size
            if size < 2 or size > n_leaves - 2:
                continue
            row = start + n_sets * n_words
            if flip:
                for w in range(n_words):
                    keys[row + w] = clades[node, w] ^ clades[root, w]
            else:
                for w in range(n_words):
                    keys[row + w] = clades[node, w]
        n_sets += 1
    if n_words == 1:
        keys[start:start + n_sets].sort()
        kept = 0
        for s in range(n_sets):
            if kept == 0 or keys[start + s] != keys[start + kept - 1]:
                keys[start + kept] = keys[start + s]
                kept += 1
        return n_words + kept
    for s in range(1, n_sets):
        for w in range(n_words):
            tmp[w] = keys[start + s * n_words + w]
        t = s - 1
        while t >= 0:
            row = start + t * n_words
            less = False
            for w in range(n_words - 1, -1, -1):
                if tmp[w] != keys[row + w]:
                    less = tmp[w] < keys[row + w]
                    break
            if not less:
                break
            for w in range(n_words):
                keys[row + n_words + w] = keys[row + w]
            t -= 1
        for w in range(n_words):
            keys[start + (t + 1) * n_words + w] = tmp[w]
    kept = 0
    for s in range(n_sets):
        row = start + s * n_words
        if kept > 0:
            same = True
            prev = start + (kept - 1) * n_words
            for w in range(n_words):
                if keys[row + w] != keys[prev + w]:
                    same = False
                    break
            if same:
                continue
        dest = start + kept * n_words
        for w in range(n_words):
            keys[dest + w] = keys[row + w]
        kept += 1
    return n_words + kept * n_words


def topology_key_words(clades: np.ndarray, parent: np.ndarray, taxon: np.ndarray, rooted: bool) -> np.ndarray:
    """Leaf set followed by the sorted distinct nontrivial splits (or clades when rooted), as words."""
    n_nodes, n_words_ = clades.shape
    keys = np.empty((n_nodes + 1) * n_words_, dtype=np.uint64)
    tmp = np.empty(max(n_nodes, n_words_), dtype=np.uint64)
    counts = leaf_counts_kernel(parent, taxon)
    written = topology_key_kernel(np.ascontiguousarray(clades), counts, 0, n_nodes, n_words_, bool(rooted), keys, 0,
                                  tmp)
    return keys[:written]
