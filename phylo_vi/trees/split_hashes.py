"""Splits of a tree as 128-bit hashes: memory linear in the number of taxa.

A split as a bitset takes ``n / 8`` bytes, so the ``n - 3`` splits of one tree of ``n`` taxa
take ``n^2 / 8`` (1.25 GB at 10^5 taxa). Instead every taxon i gets a random 128-bit label
``r_i`` and a clade C the XOR ``h(C) = XOR_{i in C} r_i``, summed up the tree in one post-order
pass (the clade hashing of Amenta, Dong & Klingner 2003, and of HashRF, Sul & Williams 2008,
with labels of 128 bits instead of a universal hash modulo a table size; clades up a tree in
linear time as in Day 1985, J. Classif. 2:7). The split of the branch above C is that of its
side without the tree's lowest taxon, ``h(C)`` or ``h(C) XOR h(all)``, so both orientations of
an unrooted split hash alike.

Collisions: for two different sides A != B, ``h(A) = h(B)`` means that the XOR of the labels of
the non-empty symmetric difference is zero, probability ``2^-128`` for independent uniform
labels; among S distinct splits the chance of any collision is below ``S^2 / 2^129``
(3e-21 for S = 10^9). The labels come from SplitMix64 (Steele, Lea & Flood 2014) of the taxon
index, so they are the same in every process and for every namespace size.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.trees.tree import Tree

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _splitmix64(state: np.uint64) -> np.uint64:
    """SplitMix64's output function of ``state`` (Steele, Lea & Flood 2014, OOPSLA)."""
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def taxon_label(index: int, word: int) -> np.uint64:
    """Word ``word`` (0 or 1) of the 128-bit label of taxon ``index``."""
    return _splitmix64(np.uint64(2 * index + word + 1) * _GOLDEN)


@njit(cache=True, nogil=True)
def split_hashes_kernel(parent: np.ndarray, taxon: np.ndarray) -> np.ndarray:
    """Sorted distinct non-trivial splits of a post-order tree (root last) as (n_splits, 2) uint64 hashes."""
    n_nodes = parent.shape[0]
    root = n_nodes - 1
    hashes = np.zeros((n_nodes, 2), dtype=np.uint64)
    counts = np.zeros(n_nodes, dtype=np.int64)
    lowest = np.iinfo(np.int32).max
    for node in range(n_nodes):
        if taxon[node] >= 0:
            lowest = min(lowest, taxon[node])
    has_lowest = np.zeros(n_nodes, dtype=np.bool_)
    for node in range(n_nodes):
        if taxon[node] >= 0:
            hashes[node, 0] ^= taxon_label(taxon[node], 0)
            hashes[node, 1] ^= taxon_label(taxon[node], 1)
            counts[node] += 1
            has_lowest[node] = has_lowest[node] or taxon[node] == lowest
        up = parent[node]
        if up >= 0:
            hashes[up, 0] ^= hashes[node, 0]
            hashes[up, 1] ^= hashes[node, 1]
            counts[up] += counts[node]
            has_lowest[up] = has_lowest[up] or has_lowest[node]
    n_leaves = counts[root]
    sides = np.empty((root, 2), dtype=np.uint64)
    n = 0
    for node in range(root):
        size = counts[node]
        high, low = hashes[node, 0], hashes[node, 1]
        if has_lowest[node]:
            size = n_leaves - size
            high ^= hashes[root, 0]
            low ^= hashes[root, 1]
        if 2 <= size <= n_leaves - 2:
            sides[n, 0] = high
            sides[n, 1] = low
            n += 1
    order = np.argsort(sides[:n, 1], kind="mergesort")
    order = order[np.argsort(sides[order, 0], kind="mergesort")]
    out = np.empty((n, 2), dtype=np.uint64)
    m = 0
    for k in range(n):
        i = order[k]
        if m == 0 or sides[i, 0] != out[m - 1, 0] or sides[i, 1] != out[m - 1, 1]:
            out[m, 0] = sides[i, 0]
            out[m, 1] = sides[i, 1]
            m += 1
    return out[:m]


def split_hashes(tree: Tree) -> np.ndarray:
    """Non-trivial splits of ``tree`` as 128-bit hashes (n_splits, 2) uint64, ascending (high word first)."""
    return split_hashes_kernel(np.ascontiguousarray(tree.parent, dtype=np.int32),
                               np.ascontiguousarray(tree.taxon, dtype=np.int32))


def hash_strings(hashes: np.ndarray) -> list[str]:
    """``h`` and the 32 hexadecimal digits of every 128-bit hash (high word first)."""
    return [f"h{int(high):016x}{int(low):016x}" for high, low in hashes.tolist()]
