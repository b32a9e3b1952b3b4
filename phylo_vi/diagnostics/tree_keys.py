"""Splits and topology keys of one tree, with Numba paths for one word and for many.

:meth:`Tree.splits` is general (any number of 64-bit words) but counts bits by unpacking every
clade into bytes (eight times the clades' memory) and sorts rows with ``np.unique(axis=0)``.
With one word a split is one integer, and one compiled pass over the clades (normalise to the
side without the first taxon, drop trivial splits, sort, deduplicate) suffices; with several
words the side sizes come from leaf counts and the rows are sorted by one ``lexsort``, so the
memory is the clades and the splits themselves (``n^2 / 32`` words for ``n`` taxa). All give the
same splits in the same ascending order, so keys equal :meth:`Tree.topology_key`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from phylo_vi.trees import bitset
from phylo_vi.trees.canonical_key import uses_canonical_key
from phylo_vi.trees.tree import Tree


@njit(cache=True, nogil=True)
def _popcount(value: np.uint64) -> int:
    count = 0
    while value:
        value &= value - np.uint64(1)
        count += 1
    return count


@njit(cache=True, nogil=True)
def one_word_splits_kernel(clades: np.ndarray, n_leaves: int) -> np.ndarray:
    """Sorted distinct non-trivial splits from post-order clades ``(n_nodes,)`` uint64 (root last)."""
    root = clades.shape[0] - 1
    full = clades[root]
    first = full & (~full + np.uint64(1))
    sides = np.empty(root, dtype=np.uint64)
    n = 0
    for node in range(root):
        side = clades[node]
        if side & first:
            side ^= full
        size = _popcount(side)
        if 2 <= size <= n_leaves - 2:
            sides[n] = side
            n += 1
    sides = np.sort(sides[:n])
    out = np.empty(n, dtype=np.uint64)
    m = 0
    for i in range(n):
        if m == 0 or sides[i] != out[m - 1]:
            out[m] = sides[i]
            m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def normalized_sides_kernel(parent: np.ndarray, taxon: np.ndarray, n_words: int) -> np.ndarray:
    """Non-trivial split sides (without the tree's lowest taxon) of every non-root branch, unsorted, with repeats."""
    clades = bitset.clade_bitsets_kernel(parent, taxon, n_words)
    counts = bitset.leaf_counts_kernel(parent, taxon)
    root = parent.shape[0] - 1
    n_leaves = counts[root]
    lowest = np.iinfo(np.int32).max
    for node in range(root + 1):
        if taxon[node] >= 0 and taxon[node] < lowest:
            lowest = taxon[node]
    word, bit = lowest // 64, np.uint64(lowest % 64)
    n_sides = 0
    for node in range(root):
        size = counts[node]
        flip = (clades[node, word] >> bit) & np.uint64(1)
        if flip:
            size = n_leaves - size
        if 2 <= size <= n_leaves - 2:
            for w in range(n_words):
                clades[n_sides, w] = clades[node, w] ^ clades[root, w] if flip else clades[node, w]
            n_sides += 1
    return clades[:n_sides]


def tree_splits(tree: Tree) -> np.ndarray:
    """Non-trivial splits of ``tree`` as :meth:`Tree.splits` returns them, shape (n_splits, n_words)."""
    n_words = bitset.n_words(tree.n_taxa)
    if n_words == 1:
        return one_word_splits_kernel(np.ascontiguousarray(tree.clades[:, 0]), tree.n_leaves)[:, None]
    sides = normalized_sides_kernel(tree.parent, tree.taxon, n_words)
    if len(sides) == 0:
        return sides.copy()
    sides = sides[np.lexsort(sides.T)]
    distinct = np.ones(len(sides), dtype=bool)
    distinct[1:] = np.any(sides[1:] != sides[:-1], axis=1)
    return sides[distinct]


def topology_key(tree: Tree, splits: np.ndarray) -> bytes:
    """:meth:`Tree.topology_key` for an unrooted tree whose splits are already known."""
    if tree.rooted or uses_canonical_key(splits.shape[1]):
        return tree.topology_key()
    return b"U" + tree.leaf_set.tobytes() + np.ascontiguousarray(splits).tobytes()
