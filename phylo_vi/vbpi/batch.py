"""A batch of sampled unrooted topologies in every form the VBPI parts need, built once per draw.

Trees come from the SBN sampler as post-order :class:`~phylo_vi.sbn.edges.TreeArrays` with a
trifurcating root; edge ``e`` of a tree joins node ``e`` to its parent (``E = 2n − 3`` edges),
the convention of both the SBN edge tables and the likelihood engine (branch ``i`` is the
branch above post-order node ``i``). The batch holds

- ``tables``: directed-edge tables (:func:`~phylo_vi.sbn.edges.unrooted_edge_tables`);
- ``indexed``: support indices of every factor of every rooting (root splits, PCSPs), which
  give both the SBN probability and the branch-length features;
- ``split_keys`` ``(K, E)``: one sortable key per edge, the edge's split written as the side
  without taxon 0, so equal topologies have equal sorted rows whatever their node order;
  ``topology_keys`` (bytes per tree) and ``canonical_order`` (edges sorted by split key) let a
  likelihood built for one node order serve every tree of that topology.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.sbn.bitkeys import row_keys
from phylo_vi.sbn.edges import EdgeTables, TreeArrays, unrooted_edge_tables
from phylo_vi.sbn.support import IndexedTrees, SubsplitSupport, index_trees
from phylo_vi.trees.tree import Tree


@dataclass
class TopologyBatch:
    """``K`` unrooted topologies: arrays, edge tables, support indices and split keys."""

    arrays: TreeArrays
    tables: EdgeTables
    indexed: IndexedTrees
    split_keys: np.ndarray
    canonical_order: np.ndarray
    topology_keys: list[bytes]

    def __len__(self) -> int:
        return len(self.topology_keys)

    @property
    def n_edges(self) -> int:
        return self.tables.n_edges


def edge_split_keys(tables: EdgeTables) -> np.ndarray:
    """``(K, E)`` key of the split of every edge, written as the side without taxon 0."""
    n_edges = tables.n_edges
    down = tables.clades[:, :n_edges]
    holds_first = (down[..., 0] & np.uint64(1)).astype(bool)
    splits = np.where(holds_first[..., None], tables.clades[:, n_edges:], down)
    return row_keys(splits.reshape(-1, splits.shape[-1])).reshape(len(tables.clades), n_edges)


def topology_batch(arrays: TreeArrays, support: SubsplitSupport) -> TopologyBatch:
    """Every form of ``arrays`` (unrooted binary trees, one row each, no deduplication)."""
    tables = unrooted_edge_tables(arrays, np.ones(len(arrays)), normalize=False, deduplicate=False)
    keys = edge_split_keys(tables)
    order = np.argsort(keys, axis=1, kind="stable")
    sorted_keys = np.take_along_axis(keys, order, axis=1)
    return TopologyBatch(arrays=arrays, tables=tables, indexed=index_trees(tables, support), split_keys=keys,
                         canonical_order=order, topology_keys=[row.tobytes() for row in sorted_keys])


def canonical_tree(tree: Tree) -> Tree:
    """The same unrooted topology in a node order that depends on the topology only.

    Drawn from the internal node next to taxon 0's leaf, children ordered by the smallest taxon
    below them. Likelihood plans built from it give bit-identical values whichever sampled tree
    of the topology came first (the floating-point order of a pruning follows the node order),
    which keeps resumed runs identical to uninterrupted ones.
    """
    n_nodes = tree.n_nodes
    neighbours: list[list[int]] = [[] for _ in range(n_nodes)]
    for node in range(n_nodes - 1):
        neighbours[node].append(int(tree.parent[node]))
        neighbours[int(tree.parent[node])].append(node)
    root = neighbours[int(tree.leaf_of_taxon[0])][0]
    smallest = np.where(tree.taxon >= 0, tree.taxon, np.iinfo(np.int32).max).astype(np.int64)
    up_of = {root: -1}
    stack = [(root, False)]
    while stack:  # first pass: smallest taxon below every node, in post-order
        node, expanded = stack.pop()
        if expanded:
            for child in neighbours[node]:
                if child != up_of[node]:
                    smallest[node] = min(smallest[node], smallest[child])
            continue
        stack.append((node, True))
        for child in neighbours[node]:
            if child != up_of[node]:
                up_of[child] = node
                stack.append((child, False))
    post: list[int] = []
    stack = [(root, False)]
    while stack:  # second pass: post-order with children by smallest taxon
        node, expanded = stack.pop()
        if expanded:
            post.append(node)
            continue
        stack.append((node, True))
        children = sorted((c for c in neighbours[node] if c != up_of[node]), key=lambda c: smallest[c])
        stack.extend((child, False) for child in reversed(children))
    new_index = {old: new for new, old in enumerate(post)}
    parent = np.array([new_index[up_of[v]] if up_of[v] >= 0 else -1 for v in post], dtype=np.int32)
    return Tree(parent, np.full(n_nodes, np.nan), tree.taxon[post], tree.taxa, rooted=False)
