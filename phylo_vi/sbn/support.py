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
from typing import Callable, Iterable, Iterator

import numpy as np
from numba import njit

from phylo_vi.sbn.bitkeys import (distinct_ranks, empty_key_set, key_rank, key_set_add, key_set_ranks, keys_to_rows,
                                  lookup, row_keys, table_index, table_position)
from phylo_vi.sbn.edges import EdgeTables, directed_edge_chunks
from phylo_vi.sbn.kernels import pack_factors_kernel
from phylo_vi.trees import bitset
from phylo_vi.trees.arrays import TreeArrays

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
class PackedTrees:
    """Trees in the packed layout of the SBN kernels (:func:`~phylo_vi.sbn.kernels.packed_tables`):
    ``parent (T, N)`` post-order parent arrays and ``factors (T, 11n − 21)`` int32 padded support indices."""

    parent: np.ndarray
    factors: np.ndarray

    def __len__(self) -> int:
        return len(self.factors)


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
def _factor_buffers(n_directed):
    """One tree's buffers of :func:`_tree_factor_keys`."""
    return (np.empty(n_directed // 2, dtype=np.int64), np.empty(n_directed, dtype=np.int64),
            np.empty(n_directed, dtype=np.int64), np.empty((n_directed, 2), dtype=np.int64),
            np.empty((n_directed, 2), dtype=np.int64))


@njit(cache=True, nogil=True)
def _add_root_parent_keys(clade_ids, children, n_clades, root_slots, root_bits, n_roots, parent_slots, parent_bits,
                          n_parents):
    """First pass of :func:`_support_passes`: add the trees' root keys and parent keys (of existing factors)."""
    n_directed = clade_ids.shape[1]
    root_key, root_parent, child_half, sib_parent, sib_child = _factor_buffers(n_directed)
    for t in range(clade_ids.shape[0]):
        _tree_factor_keys(t, clade_ids, children, n_clades, root_key, root_parent, child_half, sib_parent, sib_child)
        for e in range(n_directed // 2):
            root_slots, root_bits, n_roots = key_set_add(root_slots, root_bits, n_roots, root_key[e])
        for d in range(n_directed):
            if child_half[d] >= 0:
                parent_slots, parent_bits, n_parents = key_set_add(parent_slots, parent_bits, n_parents,
                                                                   root_parent[d])
            for j in range(2):
                if sib_child[d, j] >= 0:
                    parent_slots, parent_bits, n_parents = key_set_add(parent_slots, parent_bits, n_parents,
                                                                       sib_parent[d, j])
    return root_slots, root_bits, n_roots, parent_slots, parent_bits, n_parents


@njit(cache=True, nogil=True)
def _add_pcsp_keys(clade_ids, children, n_clades, parent_slots, parent_bits, parent_rank, pcsp_slots, pcsp_bits,
                   n_pcsps):
    """Second pass: add the PCSP keys (parent rank × n_clades + child half)."""
    n_directed = clade_ids.shape[1]
    root_key, root_parent, child_half, sib_parent, sib_child = _factor_buffers(n_directed)
    for t in range(clade_ids.shape[0]):
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
    return pcsp_slots, pcsp_bits, n_pcsps


@njit(cache=True, nogil=True)
def _index_kernel(clade_ids, children, n_clades, root_slots, root_bits, root_rank, parent_slots, parent_bits,
                  parent_rank, pcsp_slots, pcsp_bits, pcsp_rank):
    """Third pass: every factor's index in the sorted tables (int32; -2 where no factor exists)."""
    n_trees, n_directed = clade_ids.shape
    n_edges = n_directed // 2
    root_key, root_parent, child_half, sib_parent, sib_child = _factor_buffers(n_directed)
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
    return root_ids, pcsp_root, pcsp_sib


def _support_passes(chunks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]], n_clades: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Iterator[tuple[np.ndarray, ...]]]:
    """Sorted root splits, parent subsplits and PCSPs of the training trees, and an iterator over every factor's
    index (int32) chunk by chunk.

    ``chunks()`` gives the trees' ``(clade ids, children)`` in chunks, the same each time it is called.
    Three passes over them, each recomputing one tree's factor keys into O(n) buffers
    (:func:`_tree_factor_keys`): the distinct root and parent keys, then the PCSP keys (parent rank ×
    n_clades + child half), then the indices. Hash sets replace the ``(T, 2E, 2)`` key tables, so the
    memory beyond the outputs does not grow with the number of trees. Same tables and indices as
    sorting all keys (:func:`~phylo_vi.sbn.bitkeys.distinct_ranks`).
    """
    roots_and_parents = (*empty_key_set(), *empty_key_set())
    for clade_ids, children in chunks():
        roots_and_parents = _add_root_parent_keys(clade_ids, children, n_clades, *roots_and_parents)
    root_slots, root_bits, _, parent_slots, parent_bits, _ = roots_and_parents
    root_table, root_rank = key_set_ranks(root_slots, root_bits)
    parent_table, parent_rank = key_set_ranks(parent_slots, parent_bits)
    pcsps = empty_key_set()
    for clade_ids, children in chunks():
        pcsps = _add_pcsp_keys(clade_ids, children, n_clades, parent_slots, parent_bits, parent_rank, *pcsps)
    pcsp_slots, pcsp_bits, _ = pcsps
    pcsp_table, pcsp_rank = key_set_ranks(pcsp_slots, pcsp_bits)
    indices = ((*_index_kernel(clade_ids, children, n_clades, root_slots, root_bits, root_rank, parent_slots,
                               parent_bits, parent_rank, pcsp_slots, pcsp_bits, pcsp_rank), children)
               for clade_ids, children in chunks())
    return root_table, parent_table, pcsp_table, indices


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
    """Support of the training trees and their indices in it (int32; :func:`_support_passes`).

    Parent subsplits are kept only where they have a child factor.
    """
    clade_keys, clade_ids = _clade_ids(tables)
    clade_ids = np.ascontiguousarray(clade_ids, dtype=np.int64)
    root_splits, parent_keys, pcsp_keys, indices = _support_passes(lambda: [(clade_ids, tables.children)],
                                                                   len(clade_keys))
    support = SubsplitSupport(clade_keys=clade_keys, n_words=tables.clades.shape[-1], root_splits=root_splits,
                              parent_keys=parent_keys, pcsp_keys=pcsp_keys)
    root_ids, pcsp_root, pcsp_sib, children = next(indices)
    return support, IndexedTrees(root_split=root_ids, pcsp_root=pcsp_root, pcsp_sib=pcsp_sib, children=children)


def _chunk_clade_ids(clade_keys: np.ndarray, clades: np.ndarray, n_taxa: int) -> np.ndarray:
    """``(chunk, 2E)`` ids of the clades of a chunk's directed edges in the sorted ``clade_keys`` (a hash index
    when the keys are one word below bit 63, else a binary search)."""
    keys = row_keys(clades.reshape(-1, clades.shape[-1]))
    if clades.shape[-1] == 1 and n_taxa < 64:
        ids = _ids_kernel(clade_keys.view(np.int64), keys.view(np.int64))
    else:
        ids = lookup(clade_keys, keys)
    return ids.reshape(clades.shape[:2])


def pack_support(arrays: TreeArrays) -> tuple[SubsplitSupport, PackedTrees]:
    """Support of the (distinct) training trees ``arrays`` and their factors in the packed layout of the kernels.

    The same support and indices as :func:`build_support` on their edge tables, built
    :data:`~phylo_vi.sbn.edges.CHUNK` trees at a time: a pass collects the distinct clades, then the
    three passes of :func:`_support_passes` recompute each chunk's directed-edge tables and clade ids,
    and the last writes the chunk's packed rows. Beyond the packed factors (``11n − 21`` int32 per
    tree; the parent arrays are those of ``arrays``) the memory does not grow with the number of trees.
    """
    n_taxa = len(arrays.taxa)
    clade_keys = None
    for _, clades, _ in directed_edge_chunks(arrays):
        distinct = np.unique(row_keys(clades.reshape(-1, clades.shape[-1])))
        clade_keys = distinct if clade_keys is None else np.union1d(clade_keys, distinct)

    def chunks():
        return ((_chunk_clade_ids(clade_keys, clades, n_taxa), children)
                for _, clades, children in directed_edge_chunks(arrays))

    root_splits, parent_keys, pcsp_keys, indices = _support_passes(chunks, len(clade_keys))
    support = SubsplitSupport(clade_keys=clade_keys, n_words=bitset.n_words(n_taxa), root_splits=root_splits,
                              parent_keys=parent_keys, pcsp_keys=pcsp_keys)
    n_edges = arrays.parent.shape[1] - 1
    factors = np.empty((len(arrays), 4 * n_edges + 3 * ((n_edges + 3) // 2 - 3)), dtype=np.int32)
    start = 0
    for root_ids, pcsp_root, pcsp_sib, children in indices:
        factors[start:start + len(root_ids)] = pack_factors_kernel(root_ids, pcsp_root, pcsp_sib, children,
                                                                   len(root_splits), len(pcsp_keys))
        start += len(root_ids)
    return support, PackedTrees(parent=arrays.parent, factors=factors)


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
