"""Directed-edge tables of a batch of unrooted binary trees (the input of every SBN kernel).

An unrooted binary tree on ``n`` taxa has ``E = 2n - 3`` edges. Stored with a trifurcating root
in post-order (nodes ``0 .. N-1``, ``N = 2n - 2``, root last), edge ``v`` joins node ``v`` to its
parent. Each edge is used in both directions:

- directed edge ``v`` (``0 <= v < E``) points *down*, from the parent to ``v``; its clade is the
  set of taxa below ``v``;
- directed edge ``E + v`` points *up*, from ``v`` to its parent; its clade is the complement.

The clade of a directed edge ``d`` is the side its head looks into. If the head is an internal
node, ``children[d]`` are the two directed edges leaving the head away from ``d``; their clades
split ``clade[d]`` (this is the subsplit of ``clade[d]`` in any rooting on the tail side of ``d``).
The sisters of ``d`` are the children of its reverse ``d ± E``. Shapes (``T`` trees):
``clades (T, 2E, n_words)`` uint64, ``children (T, 2E, 2)`` int32 (-1 below leaves).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from numba import njit

from phylo_vi.errors import EmptyInputError, PhyloVIError, TaxonMismatchError
from phylo_vi.sbn.bitkeys import row_keys
from phylo_vi.trees import bitset
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree

CHUNK = 256  # trees whose directed-edge tables are built at once by the chunked passes


@dataclass
class EdgeTables:
    """Directed edges of ``T`` distinct unrooted topologies (see the module docstring)."""

    clades: np.ndarray
    children: np.ndarray
    weights: np.ndarray
    arrays: TreeArrays
    inverse: np.ndarray

    @property
    def taxa(self) -> TaxonNamespace:
        return self.arrays.taxa

    @property
    def trees(self) -> list[Tree]:
        """One tree per distinct topology (built on demand)."""
        return [self.arrays.tree(i) for i in range(len(self.arrays))]

    def select(self, keep: np.ndarray) -> "EdgeTables":
        """The rows where ``keep`` is true."""
        arrays = self.arrays.subset(keep)
        arrays.weights = self.weights[keep]
        return EdgeTables(self.clades[keep], self.children[keep], self.weights[keep], arrays, self.inverse)

    @property
    def n_trees(self) -> int:
        return len(self.weights)

    def __len__(self) -> int:
        return len(self.weights)

    @property
    def n_edges(self) -> int:
        return self.clades.shape[1] // 2

    @property
    def n_taxa(self) -> int:
        return len(self.taxa)


@njit(cache=True, nogil=True)
def _directed_edge_kernel(parent, taxon, n_words):
    n_trees, n_nodes = parent.shape
    n_edges = n_nodes - 1
    root = n_nodes - 1
    clades = np.zeros((n_trees, 2 * n_edges, n_words), dtype=np.uint64)
    children = np.full((n_trees, 2 * n_edges, 2), -1, dtype=np.int32)
    node_clades = np.zeros((n_nodes, n_words), dtype=np.uint64)
    node_children = np.full((n_nodes, 3), -1, dtype=np.int32)
    n_child = np.zeros(n_nodes, dtype=np.int32)
    for t in range(n_trees):
        node_clades[:] = 0
        n_child[:] = 0
        for v in range(n_nodes):
            tx = taxon[t, v]
            if tx >= 0:
                node_clades[v, tx // 64] |= np.uint64(1) << np.uint64(tx % 64)
            p = parent[t, v]
            if p >= 0:
                for w in range(n_words):
                    node_clades[p, w] |= node_clades[v, w]
                node_children[p, n_child[p]] = v
                n_child[p] += 1
        for v in range(n_edges):
            for w in range(n_words):
                clades[t, v, w] = node_clades[v, w]
                clades[t, n_edges + v, w] = node_clades[root, w] ^ node_clades[v, w]
            if n_child[v] == 2:
                children[t, v, 0] = node_children[v, 0]
                children[t, v, 1] = node_children[v, 1]
            p = parent[t, v]
            slot = 0
            for k in range(n_child[p]):
                c = node_children[p, k]
                if c != v:
                    children[t, n_edges + v, slot] = c
                    slot += 1
            if p != root:
                children[t, n_edges + v, 1] = n_edges + p
    return clades, children


@njit(cache=True, nogil=True)
def _first_bad_tree(parent, taxon, n_taxa):
    """``(t, reason)`` of the first tree that is not binary on all taxa with a trifurcating root (reason 1: it
    lacks taxa, 2: not binary), ``(-1, 0)`` when every tree is; one tree's node degrees at a time."""
    n_trees, n_nodes = parent.shape
    degree = np.zeros(n_nodes, dtype=np.int64)
    for t in range(n_trees):
        degree[:] = 0
        n_leaves = 0
        for v in range(n_nodes):
            if v < n_nodes - 1:
                degree[parent[t, v]] += 1
            if taxon[t, v] >= 0:
                n_leaves += 1
        if n_leaves != n_taxa:
            return t, 1
        if degree[n_nodes - 1] != 3:
            return t, 2
        for v in range(n_nodes - 1):
            if taxon[t, v] < 0 and degree[v] != 2:
                return t, 2
    return -1, 0


def _check_unrooted_binary(arrays: TreeArrays) -> None:
    """Every row must be a binary tree on all taxa with a trifurcating root."""
    n_taxa = len(arrays.taxa)
    n_nodes = arrays.parent.shape[1]
    if n_nodes != 2 * n_taxa - 2:
        raise PhyloVIError(f"trees have {n_nodes} nodes; a binary unrooted tree on the sample's {n_taxa} taxa has "
                           f"{2 * n_taxa - 2} (SBNs need fully resolved trees on all taxa)")
    first, reason = _first_bad_tree(arrays.parent, arrays.taxon, n_taxa)
    if reason == 1:
        raise TaxonMismatchError(f"tree {first} does not hold every one of the sample's {n_taxa} taxa")
    if reason == 2:
        raise PhyloVIError(f"tree {first} is not binary; SBNs need fully resolved trees")


def _split_key_matrix(clades: np.ndarray, n_edges: int) -> np.ndarray:
    """``(T, E)`` sorted keys of each tree's splits (side without taxon 0): equal rows = equal topologies."""
    down = clades[:, :n_edges]
    holds_first = (down[..., 0] & np.uint64(1)).astype(bool)
    splits = np.where(holds_first[..., None], clades[:, n_edges:], down)
    keys = row_keys(splits.reshape(-1, splits.shape[-1])).reshape(len(clades), n_edges)
    return np.sort(keys, axis=1)


def _mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014): a bijective scramble of uint64 words."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _first_occurrence_ranks(first: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.ravel()]


def topology_ids(clades: np.ndarray, n_edges: int) -> np.ndarray:
    """Distinct-topology index of every tree (numbered in order of first occurrence).

    Trees are grouped by a 64-bit hash of their split set, then every tree is compared with its
    group's first tree, so the grouping is exact (a collision falls back to sorting rows).
    """
    keys = _split_key_matrix(clades, n_edges)
    if keys.dtype.names is not None:
        keys = np.unique(keys.ravel(), return_inverse=True)[1].reshape(keys.shape).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashes = _mix64(keys).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    if not np.array_equal(keys, keys[first[inverse.ravel()]]):
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return _first_occurrence_ranks(first, inverse)


def unrooted_arrays(trees: Sequence[Tree] | TreeArrays, sample_weight: Sequence[float] | None = None) -> TreeArrays:
    """``trees`` as :class:`TreeArrays` of binary unrooted trees (bifurcating roots removed) with checked weights
    (``sample_weight``, by default each tree's ``weight``)."""
    if isinstance(trees, TreeArrays):
        arrays = trees
        if sample_weight is not None:
            arrays = TreeArrays(arrays.parent, arrays.taxon, np.asarray(sample_weight, dtype=np.float64), arrays.taxa)
    else:
        trees = list(trees)
        if not trees:
            raise EmptyInputError("no trees given")
        arrays = TreeArrays.from_trees(trees, sample_weight, n_nodes=2 * len(trees[0].taxa) - 2)
    n_taxa = len(arrays.taxa)
    if n_taxa < 3:
        raise PhyloVIError(f"an unrooted SBN needs at least 3 taxa, got {n_taxa}")
    _check_unrooted_binary(arrays)
    weights = arrays.weights
    if weights.shape != (len(arrays.parent),):
        raise PhyloVIError(f"sample_weight has {weights.size} entries for {len(arrays.parent)} trees")
    if np.any(~np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise PhyloVIError("sample weights must be finite, non-negative and not all zero")
    return arrays


def directed_edge_chunks(arrays: TreeArrays, rows: np.ndarray | None = None
                         ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(rows, clades, children)`` of :data:`CHUNK` trees at a time (all trees, or those at ``rows``, in
    order): the directed-edge tables of the module docstring without holding every tree's at once."""
    rows = np.arange(len(arrays)) if rows is None else rows
    n_words = bitset.n_words(len(arrays.taxa))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        yield (chunk, *_directed_edge_kernel(arrays.parent[chunk], arrays.taxon[chunk], n_words))


def _split_hashes(keys: np.ndarray) -> np.ndarray:
    """64-bit hash of each row of a split-key matrix (:func:`_split_key_matrix`): equal rows, equal hashes."""
    if keys.dtype.names is None:
        words = _mix64(keys)
    else:
        packed = keys.view(np.uint64).reshape(*keys.shape, -1)
        words = packed[..., 0]
        with np.errstate(over="ignore"):
            for word in range(1, packed.shape[-1]):
                words = _mix64(words) ^ packed[..., word]
        words = _mix64(words)
    with np.errstate(over="ignore"):
        return words.sum(axis=1, dtype=np.uint64)


def _grouped_by_keys(arrays: TreeArrays, first: np.ndarray, inverse: np.ndarray) -> bool:
    """Whether every tree has the split set of the first tree of its group (``inverse`` groups, ``first`` their
    first rows). Only the trees that repeat an earlier one are compared, with the stored keys of their group's
    first tree (which comes earlier), so the memory grows with the repeated topologies only."""
    n_edges = arrays.parent.shape[1] - 1
    later = np.flatnonzero(first[inverse] != np.arange(len(inverse)))
    if len(later) == 0:
        return True
    repeated = np.unique(inverse[later])
    store = np.full(len(first), -1)
    store[repeated] = np.arange(len(repeated))
    rows = np.union1d(later, first[repeated])
    stored = None
    for chunk, clades, _ in directed_edge_chunks(arrays, rows):
        keys = _split_key_matrix(clades, n_edges)
        if stored is None:
            stored = np.empty((len(repeated), n_edges), dtype=keys.dtype)
        group = inverse[chunk]
        is_first = first[group] == chunk
        stored[store[group[is_first]]] = keys[is_first]
        if not np.array_equal(keys[~is_first], stored[store[group[~is_first]]]):
            return False
    return True


def _exact_topology_ids(arrays: TreeArrays) -> np.ndarray:
    """Distinct-topology index of every tree by sorting the split-key rows (the fallback of a hash collision)."""
    n_edges = arrays.parent.shape[1] - 1
    keys = np.concatenate([_split_key_matrix(clades, n_edges).view(np.uint64).reshape(len(chunk), -1)
                           for chunk, clades, _ in directed_edge_chunks(arrays)])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return _first_occurrence_ranks(first, inverse)


def distinct_topologies(trees: Sequence[Tree] | TreeArrays | EdgeTables, sample_weight: Sequence[float] | None = None,
                        *, normalize: bool = True) -> tuple[TreeArrays, np.ndarray]:
    """The distinct topologies of ``trees`` (first trees, in order of first occurrence, with their summed
    weights, divided by their total with ``normalize``) and the row of every tree.

    The grouping of :func:`unrooted_edge_tables` (same rows, weights and ``inverse``), computed
    :data:`CHUNK` trees at a time: a hash of every tree's split set, then the trees that repeat one
    compared with it exactly. When every tree is distinct and the arrays are given, they are returned
    without a copy. ``EdgeTables`` give their arrays (renormalised weights) and rows.
    """
    if isinstance(trees, EdgeTables):
        tables = unrooted_edge_tables(trees, sample_weight, normalize=normalize)
        arrays = TreeArrays(tables.arrays.parent, tables.arrays.taxon, tables.weights, tables.taxa)
        return arrays, np.arange(len(arrays))
    arrays = unrooted_arrays(trees, sample_weight)
    n_edges = arrays.parent.shape[1] - 1
    hashes = np.concatenate([_split_hashes(_split_key_matrix(clades, n_edges))
                             for _, clades, _ in directed_edge_chunks(arrays)])
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if _grouped_by_keys(arrays, first, inverse):
        inverse = _first_occurrence_ranks(first, inverse)
    else:
        inverse = _exact_topology_ids(arrays)
    summed = np.bincount(inverse, weights=arrays.weights)
    if normalize:
        summed = summed / summed.sum()
    if len(summed) == len(arrays) and np.array_equal(inverse, np.arange(len(arrays))):
        return TreeArrays(arrays.parent, arrays.taxon, summed, arrays.taxa), inverse
    first = np.full(len(summed), len(arrays), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(arrays)))
    return TreeArrays(arrays.parent[first], arrays.taxon[first], summed, arrays.taxa), inverse


def unrooted_edge_tables(trees: Sequence[Tree] | TreeArrays | EdgeTables,
                         sample_weight: Sequence[float] | None = None, *, normalize: bool = True,
                         deduplicate: bool = True) -> EdgeTables:
    """Directed-edge tables of the distinct topologies of ``trees`` with their summed weights.

    ``trees`` is a sequence of :class:`Tree`, a :class:`TreeArrays`, or tables built before
    (returned with their weights renormalised, so one sample's tables serve several models). ``sample_weight``
    defaults to each tree's ``weight`` (MrBayes ``[&W]``, else 1). With ``deduplicate``
    repeated topologies are merged (``inverse`` maps every input tree to its row), so integer
    weights and repeated trees give identical tables. With ``normalize`` the weights are divided
    by their total (the empirical distribution).
    """
    if isinstance(trees, EdgeTables):
        weights = trees.weights if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        weights = weights / weights.sum() if normalize else weights
        return EdgeTables(trees.clades, trees.children, weights, trees.arrays, trees.inverse)
    arrays = unrooted_arrays(trees, sample_weight)
    weights = arrays.weights
    clades, children = _directed_edge_kernel(arrays.parent, arrays.taxon, bitset.n_words(len(arrays.taxa)))
    n_edges = clades.shape[1] // 2
    if not deduplicate:
        return EdgeTables(clades, children, weights / weights.sum() if normalize else weights, arrays,
                          np.arange(len(weights)))
    inverse = topology_ids(clades, n_edges)
    first = np.full(inverse.max() + 1, len(weights), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(weights)))
    summed = np.bincount(inverse, weights=weights, minlength=len(first))
    if normalize:
        summed = summed / summed.sum()
    distinct = TreeArrays(arrays.parent[first], arrays.taxon[first], summed, arrays.taxa)
    return EdgeTables(clades=clades[first], children=children[first], weights=summed, arrays=distinct,
                      inverse=inverse)


def split_set_keys(tables: EdgeTables) -> list[bytes]:
    """One bytes key per tree of ``tables``: equal keys exactly for equal topologies."""
    return [row.tobytes() for row in _split_key_matrix(tables.clades, tables.n_edges)]
