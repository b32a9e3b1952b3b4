"""Subsplit support: integer indices of clades, root splits, parent subsplits and PCSPs.

Zhang & Matsen (NeurIPS 2018, §3) describe a rooted tree by its root split and, for every
internal non-root node, the pair (parent subsplit, child subsplit) — a PCSP. A parent subsplit
is ordered: (sister clade Y, focal clade Z); its children are the subsplits of Z. We index

- clades: the distinct bitsets of the sample, sorted (clade id = rank);
- root splits: by the smaller clade id of their two sides;
- parent subsplits: by the key ``id(Y) * n_clades + id(Z)``, sorted;
- PCSPs: by ``parent id * n_clades + id(smaller half of the child subsplit)``, sorted, so the
  PCSPs of one parent are contiguous (``parent_offsets``, CSR layout).

Once built from training trees, the support indexes any other batch: unknown objects get -1
(probability 0); a factor that does not exist (below a leaf) gets -2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from phylo_vi.sbn.bitkeys import (distinct_ranks, empty_key_set, key_rank, key_set_add, key_set_ranks, keys_to_rows,
                                  lookup, row_keys, table_index, table_position)
from phylo_vi.sbn.edges import EdgeTables

NO_FACTOR = -2


@dataclass
class IndexedTrees:
    """Support indices of the factors of every rooting of ``T`` trees (``E`` edges each).

    ``root_split (T, E)``: root split of the rooting on edge ``e``; ``pcsp_root (T, 2E)``: PCSP of
    directed edge ``d`` when the root is on its edge; ``pcsp_sib (T, 2E, 2)``: PCSP of child
    ``children[d, j]`` given its sister ``children[d, 1 - j]`` (root on the tail side of ``d``).
    """

    root_split: np.ndarray
    pcsp_root: np.ndarray
    pcsp_sib: np.ndarray
    children: np.ndarray


@dataclass
class SubsplitSupport:
    """Sorted tables of clades, root splits, parent subsplits and PCSPs (module docstring)."""

    clade_keys: np.ndarray
    n_words: int
    root_splits: np.ndarray
    parent_keys: np.ndarray
    pcsp_keys: np.ndarray

    @property
    def n_clades(self) -> int:
        return len(self.clade_keys)

    @property
    def clades(self) -> np.ndarray:
        return keys_to_rows(self.clade_keys, self.n_words)

    @property
    def parent_sister(self) -> np.ndarray:
        return self.parent_keys // self.n_clades

    @property
    def parent_focal(self) -> np.ndarray:
        return self.parent_keys % self.n_clades

    @property
    def pcsp_parent(self) -> np.ndarray:
        return self.pcsp_keys // self.n_clades

    @property
    def pcsp_child(self) -> np.ndarray:
        return self.pcsp_keys % self.n_clades

    @property
    def parent_offsets(self) -> np.ndarray:
        counts = np.bincount(self.pcsp_parent, minlength=len(self.parent_keys))
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def to_dict(self) -> dict:
        return {"clades": [[int(w) for w in row] for row in self.clades],
                "root_splits": self.root_splits.tolist(), "parent_keys": self.parent_keys.tolist(),
                "pcsp_keys": self.pcsp_keys.tolist()}

    @classmethod
    def from_dict(cls, document: dict) -> "SubsplitSupport":
        clades = np.array(document["clades"], dtype=np.uint64)
        return cls(clade_keys=row_keys(clades), n_words=clades.shape[1],
                   root_splits=np.array(document["root_splits"], dtype=np.int64),
                   parent_keys=np.array(document["parent_keys"], dtype=np.int64),
                   pcsp_keys=np.array(document["pcsp_keys"], dtype=np.int64))


@njit(cache=True, nogil=True)
def _pair(first, second, n_second):
    if first < 0 or second < 0:
        return -1
    return first * n_second + second


@njit(cache=True, nogil=True)
def _tree_factor_keys(t, clade_ids, children, n_clades, root_key, root_parent, child_half, sib_parent, sib_child):
    """Root-split, parent-subsplit and child-half keys of the factors of tree ``t`` (-1 unknown, -2 no factor),
    written into the one-tree buffers."""
    n_directed = clade_ids.shape[1]
    n_edges = n_directed // 2
    for d in range(n_directed):
        c0 = children[t, d, 0]
        if c0 < 0:
            child_half[d] = NO_FACTOR
        else:
            a, b = clade_ids[t, c0], clade_ids[t, children[t, d, 1]]
            child_half[d] = -1 if (a < 0 or b < 0) else min(a, b)
    for e in range(n_edges):
        a, b = clade_ids[t, e], clade_ids[t, e + n_edges]
        root_key[e] = -1 if (a < 0 or b < 0) else min(a, b)
    for d in range(n_directed):
        reverse = d + n_edges if d < n_edges else d - n_edges
        root_parent[d] = _pair(clade_ids[t, reverse], clade_ids[t, d], n_clades)
        for j in range(2):
            if child_half[d] == NO_FACTOR:
                sib_parent[d, j] = NO_FACTOR
                sib_child[d, j] = NO_FACTOR
            else:
                x, y = children[t, d, j], children[t, d, 1 - j]
                sib_parent[d, j] = _pair(clade_ids[t, y], clade_ids[t, x], n_clades)
                sib_child[d, j] = child_half[x]


@njit(cache=True, nogil=True)
def _factor_keys_kernel(clade_ids, children, n_clades):
    """:func:`_tree_factor_keys` of every tree, as ``(T, ...)`` arrays."""
    n_trees, n_directed = clade_ids.shape
    n_edges = n_directed // 2
    root_key = np.empty((n_trees, n_edges), dtype=np.int64)
    root_parent = np.empty((n_trees, n_directed), dtype=np.int64)
    child_half = np.empty((n_trees, n_directed), dtype=np.int64)
    sib_parent = np.empty((n_trees, n_directed, 2), dtype=np.int64)
    sib_child = np.empty((n_trees, n_directed, 2), dtype=np.int64)
    for t in range(n_trees):
        _tree_factor_keys(t, clade_ids, children, n_clades, root_key[t], root_parent[t], child_half[t],
                          sib_parent[t], sib_child[t])
    return root_key, root_parent, child_half, sib_parent, sib_child


@njit(cache=True, nogil=True)
def _support_kernel(clade_ids, children, n_clades):
    """Sorted root splits, parent subsplits and PCSPs of the training trees and every factor's index (int32).

    Three passes over the trees, each recomputing one tree's factor keys into O(n) buffers
    (:func:`_tree_factor_keys`): the distinct root and parent keys, then the PCSP keys (parent rank ×
    n_clades + child half), then the indices. Hash sets replace the ``(T, 2E, 2)`` key tables, so the
    memory beyond the outputs does not grow with the number of trees. Same tables and indices as
    sorting all keys (:func:`~phylo_vi.sbn.bitkeys.distinct_ranks`).
    """
    n_trees, n_directed = clade_ids.shape
    n_edges = n_directed // 2
    root_key = np.empty(n_edges, dtype=np.int64)
    root_parent = np.empty(n_directed, dtype=np.int64)
    child_half = np.empty(n_directed, dtype=np.int64)
    sib_parent = np.empty((n_directed, 2), dtype=np.int64)
    sib_child = np.empty((n_directed, 2), dtype=np.int64)
    root_slots, root_bits, n_roots = empty_key_set()
    parent_slots, parent_bits, n_parents = empty_key_set()
    for t in range(n_trees):
        _tree_factor_keys(t, clade_ids, children, n_clades, root_key, root_parent, child_half, sib_parent, sib_child)
        for e in range(n_edges):
            root_slots, root_bits, n_roots = key_set_add(root_slots, root_bits, n_roots, root_key[e])
        for d in range(n_directed):
            if child_half[d] >= 0:
                parent_slots, parent_bits, n_parents = key_set_add(parent_slots, parent_bits, n_parents,
                                                                   root_parent[d])
            for j in range(2):
                if sib_child[d, j] >= 0:
                    parent_slots, parent_bits, n_parents = key_set_add(parent_slots, parent_bits, n_parents,
                                                                       sib_parent[d, j])
    root_table, root_rank = key_set_ranks(root_slots, root_bits)
    parent_table, parent_rank = key_set_ranks(parent_slots, parent_bits)
    pcsp_slots, pcsp_bits, n_pcsps = empty_key_set()
    for t in range(n_trees):
        _tree_factor_keys(t, clade_ids, children, n_clades, root_key, root_parent, child_half, sib_parent, sib_child)
        for d in range(n_directed):
            if child_half[d] >= 0:
                key = key_rank(parent_slots, parent_bits, parent_rank, root_parent[d]) * n_clades + child_half[d]
                pcsp_slots, pcsp_bits, n_pcsps = key_set_add(pcsp_slots, pcsp_bits, n_pcsps, key)
            for j in range(2):
                if sib_child[d, j] >= 0:
                    key = (key_rank(parent_slots, parent_bits, parent_rank, sib_parent[d, j]) * n_clades
                           + sib_child[d, j])
                    pcsp_slots, pcsp_bits, n_pcsps = key_set_add(pcsp_slots, pcsp_bits, n_pcsps, key)
    pcsp_table, pcsp_rank = key_set_ranks(pcsp_slots, pcsp_bits)
    root_ids = np.empty((n_trees, n_edges), dtype=np.int32)
    pcsp_root = np.empty((n_trees, n_directed), dtype=np.int32)
    pcsp_sib = np.empty((n_trees, n_directed, 2), dtype=np.int32)
    for t in range(n_trees):
        _tree_factor_keys(t, clade_ids, children, n_clades, root_key, root_parent, child_half, sib_parent, sib_child)
        for e in range(n_edges):
            root_ids[t, e] = key_rank(root_slots, root_bits, root_rank, root_key[e])
        for d in range(n_directed):
            pcsp_root[t, d] = child_half[d]
            if child_half[d] >= 0:
                key = key_rank(parent_slots, parent_bits, parent_rank, root_parent[d]) * n_clades + child_half[d]
                pcsp_root[t, d] = key_rank(pcsp_slots, pcsp_bits, pcsp_rank, key)
            for j in range(2):
                pcsp_sib[t, d, j] = sib_child[d, j]
                if sib_child[d, j] >= 0:
                    key = (key_rank(parent_slots, parent_bits, parent_rank, sib_parent[d, j]) * n_clades
                           + sib_child[d, j])
                    pcsp_sib[t, d, j] = key_rank(pcsp_slots, pcsp_bits, pcsp_rank, key)
    return root_table, parent_table, pcsp_table, root_ids, pcsp_root, pcsp_sib


@njit(cache=True, nogil=True)
def _ids_kernel(table, keys):
    """Index of each key in the sorted, distinct ``table`` (-1 when absent); negative codes pass through.

    With more keys than table entries the table goes into a hash index first (one probe per key instead
    of a binary search); otherwise each key is searched.
    """
    flat = keys.ravel()
    out = np.empty(flat.size, dtype=np.int64)
    hashed = flat.size > table.size
    if hashed:
        slots, bits, rank = table_index(table)
    for i in range(flat.size):
        key = flat[i]
        if key < 0:
            out[i] = key
        elif hashed:
            out[i] = table_position(slots, bits, rank, key)
        else:
            position = np.searchsorted(table, key)
            out[i] = position if position < table.size and table[position] == key else -1
    return out.reshape(keys.shape)


@njit(cache=True, nogil=True)
def _pcsp_keys_kernel(parent_ids, child, n_clades):
    """PCSP keys of (parent id, child half) pairs; -2 (no factor) and -1 (unknown) propagate."""
    flat_parent, flat_child = parent_ids.ravel(), child.ravel()
    out = np.empty(flat_parent.size, dtype=np.int64)
    for i in range(flat_parent.size):
        out[i] = NO_FACTOR if flat_child[i] == NO_FACTOR else _pair(flat_parent[i], flat_child[i], n_clades)
    return out.reshape(parent_ids.shape)


def _factors(tables: EdgeTables, clade_ids: np.ndarray, n_clades: int):
    return _factor_keys_kernel(np.ascontiguousarray(clade_ids, dtype=np.int64), tables.children, n_clades)


def _clade_ids(tables: EdgeTables) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct clade keys and the id of every clade of ``tables`` (shape ``(T, 2E)``)."""
    flat = row_keys(tables.clades.reshape(-1, tables.clades.shape[-1]))
    if tables.clades.shape[-1] == 1 and tables.n_taxa < 64:  # bit 63 unused: int64 keys keep the order
        clade_keys, ids = distinct_ranks(flat.view(np.int64))
        return clade_keys.view(np.uint64), ids.reshape(tables.clades.shape[:2])
    clade_keys, inverse = np.unique(flat, return_inverse=True)
    return clade_keys, inverse.reshape(tables.clades.shape[:2])


def build_support(tables: EdgeTables) -> tuple[SubsplitSupport, IndexedTrees]:
    """Support of the training trees and their indices in it (int32; :func:`_support_kernel`).

    Parent subsplits are kept only where they have a child factor.
    """
    clade_keys, clade_ids = _clade_ids(tables)
    root_splits, parent_keys, pcsp_keys, root_ids, pcsp_root, pcsp_sib = _support_kernel(
        np.ascontiguousarray(clade_ids, dtype=np.int64), tables.children, len(clade_keys))
    support = SubsplitSupport(clade_keys=clade_keys, n_words=tables.clades.shape[-1], root_splits=root_splits,
                              parent_keys=parent_keys, pcsp_keys=pcsp_keys)
    return support, IndexedTrees(root_split=root_ids, pcsp_root=pcsp_root, pcsp_sib=pcsp_sib,
                                 children=tables.children)


def index_trees(tables: EdgeTables, support: SubsplitSupport) -> IndexedTrees:
    """Indices of the factors of ``tables`` in a fitted support (-1 for unseen objects)."""
    flat = row_keys(tables.clades.reshape(-1, tables.clades.shape[-1]))
    clade_ids = lookup(support.clade_keys, flat).reshape(tables.clades.shape[:2])
    n_clades = support.n_clades
    root_key, root_parent, child_half, sib_parent, sib_child = _factors(tables, clade_ids, n_clades)
    root_pcsp = _pcsp_keys_kernel(_ids_kernel(support.parent_keys, root_parent), child_half, n_clades)
    sib_pcsp = _pcsp_keys_kernel(_ids_kernel(support.parent_keys, sib_parent), sib_child, n_clades)
    return IndexedTrees(root_split=_ids_kernel(support.root_splits, root_key),
                        pcsp_root=_ids_kernel(support.pcsp_keys, root_pcsp),
                        pcsp_sib=_ids_kernel(support.pcsp_keys, sib_pcsp), children=tables.children)
