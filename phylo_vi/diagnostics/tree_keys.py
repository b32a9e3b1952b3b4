"""Splits and topology keys of one tree, with a Numba fast path for up to 64 taxa.

:meth:`Tree.splits` is general (any number of 64-bit words) but sorts rows with
``np.unique(axis=0)``; with one word a split is one integer, and one compiled pass over the
clades (normalise to the side without the first taxon, drop trivial splits, sort, deduplicate)
suffices. Both give the same splits in the same ascending order, so keys equal
:meth:`Tree.topology_key`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

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


def tree_splits(tree: Tree) -> np.ndarray:
    """Non-trivial splits of ``tree`` as :meth:`Tree.splits` returns them, shape (n_splits, n_words)."""
    clades = tree.clades
    if clades.shape[1] != 1:
        return tree.splits()
    return one_word_splits_kernel(np.ascontiguousarray(clades[:, 0]), tree.n_leaves)[:, None]


def topology_key(tree: Tree, splits: np.ndarray) -> bytes:
    """:meth:`Tree.topology_key` for an unrooted tree whose splits are already known."""
    if tree.rooted:
        return tree.topology_key()
    return b"U" + tree.leaf_set.tobytes() + np.ascontiguousarray(splits).tobytes()
