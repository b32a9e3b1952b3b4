"""Array representation of one phylogenetic tree.

Nodes are numbered in post-order: every node comes after all of its descendants and the
root is the last node. Arrays, for ``n_nodes`` nodes:

- ``parent`` (n_nodes,) int32: index of the parent, -1 at the root;
- ``branch_length`` (n_nodes,) float64: length of the branch above each node (NaN where the
  file gave none, and at the root);
- ``taxon`` (n_nodes,) int32: taxon index of a leaf in the shared :class:`TaxonNamespace`,
  -1 at internal nodes.

Children are derived (``child_offsets`` / ``child_nodes``, CSR layout, in file order). An
unrooted tree is usually stored with a trifurcating root (as MrBayes and IQ-TREE write it);
``rooted`` says whether the root position means anything.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numba import njit

from phylo_vi.errors import PhyloVIError
from phylo_vi.trees import bitset
from phylo_vi.trees.canonical_key import canonical_key_words, uses_canonical_key
from phylo_vi.trees.taxa import TaxonNamespace


_STRUCTURE_PROBLEMS = {
    1: "nodes must be in post-order: every parent after its children, root last",
    2: "a taxon appears at more than one leaf",
    3: "leaves must carry a taxon and internal nodes must not",
}


@njit(cache=True, nogil=True)
def _structure_problem(parent: np.ndarray, taxon: np.ndarray) -> int:
    """0 when the arrays form a valid post-order tree, else a key of ``_STRUCTURE_PROBLEMS``."""
    n_nodes = parent.shape[0]
    if parent[n_nodes - 1] != -1:
        return 1
    n_children = np.zeros(n_nodes, dtype=np.int32)
    for node in range(n_nodes - 1):
        if parent[node] <= node or parent[node] >= n_nodes:
            return 1
        n_children[parent[node]] += 1
    max_taxon = 0
    for node in range(n_nodes):
        max_taxon = max(max_taxon, taxon[node])
    seen = np.zeros(max_taxon + 1, dtype=np.bool_)
    for node in range(n_nodes):
        if (taxon[node] >= 0) == (n_children[node] > 0):
            return 3
        if taxon[node] >= 0:
            if seen[taxon[node]]:
                return 2
            seen[taxon[node]] = True
    return 0


@dataclass(eq=False)
class Tree:
    """One tree over a shared taxon namespace (see the module docstring for the arrays)."""

    parent: np.ndarray
    branch_length: np.ndarray
    taxon: np.ndarray
    taxa: TaxonNamespace
    rooted: bool = False
    name: str | None = None
    weight: float = 1.0
    annotations: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parent = np.ascontiguousarray(self.parent, dtype=np.int32)
        self.branch_length = np.ascontiguousarray(self.branch_length, dtype=np.float64)
        self.taxon = np.ascontiguousarray(self.taxon, dtype=np.int32)
        n_nodes = len(self.parent)
        if n_nodes == 0 or len(self.branch_length) != n_nodes or len(self.taxon) != n_nodes:
            raise PhyloVIError("parent, branch_length and taxon must be non-empty and of equal length")
        problem = _structure_problem(self.parent, self.taxon)
        if problem:
            raise PhyloVIError(_STRUCTURE_PROBLEMS[problem])

    # ----------------------------------------------------------------------------- structure
    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    @property
    def root(self) -> int:
        return self.n_nodes - 1

    @property
    def n_taxa(self) -> int:
        """Size of the namespace (the bitset width), which may exceed :attr:`n_leaves`."""
        return len(self.taxa)

    @cached_property
    def n_children(self) -> np.ndarray:
        return np.bincount(self.parent[:-1], minlength=self.n_nodes).astype(np.int32)

    @cached_property
    def child_offsets(self) -> np.ndarray:
        """CSR offsets: children of ``v`` are ``child_nodes[child_offsets[v]:child_offsets[v + 1]]``."""
        return np.concatenate([[0], np.cumsum(self.n_children)]).astype(np.int32)

    @cached_property
    def child_nodes(self) -> np.ndarray:
        return np.argsort(self.parent[:-1], kind="stable").astype(np.int32)

    def children(self, node: int) -> np.ndarray:
        return self.child_nodes[self.child_offsets[node]:self.child_offsets[node + 1]]

    @cached_property
    def leaves(self) -> np.ndarray:
        """Leaf node indices, in post-order."""
        return np.flatnonzero(self.taxon >= 0).astype(np.int32)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)

    @cached_property
    def leaf_of_taxon(self) -> np.ndarray:
        """Node of each taxon index (-1 for taxa of the namespace absent from this tree)."""
        nodes = np.full(self.n_taxa, -1, dtype=np.int32)
        nodes[self.taxon[self.leaves]] = self.leaves
        return nodes

    @cached_property
    def depth(self) -> np.ndarray:
        """Number of edges between each node and the root."""
        depth = np.zeros(self.n_nodes, dtype=np.int32)
        for node in range(self.n_nodes - 2, -1, -1):
            depth[node] = depth[self.parent[node]] + 1
        return depth

    # ----------------------------------------------------------------------- clades, splits
    @cached_property
    def clades(self) -> np.ndarray:
        """Bitset of the taxa below every node, shape ``(n_nodes, n_words)``."""
        return bitset.clade_bitsets_kernel(self.parent, self.taxon, bitset.n_words(self.n_taxa))

    @property
    def leaf_set(self) -> np.ndarray:
        """Bitset of the tree's taxa (the root's clade; from the taxon array while the clades are not computed)."""
        clades = self.__dict__.get("clades")
        if clades is not None:
            return clades[self.root]
        words = np.zeros(bitset.n_words(self.n_taxa), dtype=np.uint64)
        bitset.leaf_set_kernel(self.taxon, 0, self.n_nodes, words)
        return words

    def nontrivial_clades(self) -> np.ndarray:
        """Distinct clades with at least two taxa, excluding the root clade, canonical order."""
        sizes = bitset.popcount(self.clades)
        keep = (sizes >= 2) & (sizes < sizes[self.root])
        return bitset.unique_bitsets(self.clades[keep])

    def splits(self, include_trivial: bool = False) -> np.ndarray:
        """Distinct unrooted splits (side without the tree's first taxon), canonical order.

        A split is the bipartition of the leaf set made by cutting one branch; it is stored by
        the side that does not hold the lowest-index taxon of the tree. Trivial splits (one
        taxon against the rest) are excluded unless asked for.
        """
        full = self.leaf_set
        first = int(self.taxon[self.leaves].min())
        word, bit = divmod(first, 64)
        sides = self.clades[:-1]
        holds_first = ((sides[:, word] >> np.uint64(bit)) & np.uint64(1)).astype(bool)
        sides = np.where(holds_first[:, None], sides ^ full, sides)
        sizes = bitset.popcount(sides)
        n_leaves = self.n_leaves
        keep = (sizes >= (1 if include_trivial else 2)) & (sizes <= n_leaves - (1 if include_trivial else 2))
        return bitset.unique_bitsets(sides[keep])

    def topology_key(self) -> bytes:
        """Canonical key: equal for two trees exactly when their topologies are equal.

        Rooted trees compare by their clades, unrooted trees by their splits (so any rooting
        of one unrooted tree gives the same key). Branch lengths and child order are ignored.
        The bytes are the leaf set followed by :meth:`nontrivial_clades` (rooted) or
        :meth:`splits` (unrooted), computed in one Numba pass; in namespaces wider than
        :data:`~phylo_vi.trees.canonical_key.SPLIT_KEY_MAX_WORDS` words, the linear-size canonical
        code of :mod:`phylo_vi.trees.canonical_key`.
        """
        if uses_canonical_key(bitset.n_words(self.n_taxa)):
            words = canonical_key_words(self.parent, self.taxon, self.rooted)
        else:
            words = bitset.topology_key_words(self.clades, self.parent, self.taxon, self.rooted)
        return (b"R" if self.rooted else b"U") + words.tobytes()

    # ---------------------------------------------------------------------------- rerooting
    def _undirected_edges(self) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
        neighbours: list[list[int]] = [[] for _ in range(self.n_nodes)]
        lengths: dict[tuple[int, int], float] = {}
        for node in range(self.n_nodes - 1):
            up = int(self.parent[node])
            neighbours[up].append(node)
            neighbours[node].append(up)
            lengths[(node, up)] = lengths[(up, node)] = float(self.branch_length[node])
        return neighbours, lengths

    def _rebuild(self, neighbours: list[list[int]], lengths: dict, root: int, taxon: np.ndarray,
                 rooted: bool) -> "Tree":
        """Post-order arrays of the tree hanging from ``root`` in an undirected adjacency."""
        order: list[int] = []
        up_of: dict[int, int] = {root: -1}
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            stack.append((node, True))
            for nxt in reversed(neighbours[node]):
                if nxt != up_of[node]:
                    up_of[nxt] = node
                    stack.append((nxt, False))
        new_index = {old: new for new, old in enumerate(order)}
        parent = np.array([new_index[up_of[v]] if up_of[v] >= 0 else -1 for v in order], dtype=np.int32)
        length = np.array([lengths[(v, up_of[v])] if up_of[v] >= 0 else np.nan for v in order])
        return Tree(parent, length, taxon[order], self.taxa, rooted=rooted, name=self.name, weight=self.weight)

    def reroot(self, node: int, position: float = 0.5) -> "Tree":
        """Rooted tree with its root on the branch above ``node``.

        The new root divides that branch: ``position`` of its length lies between the root and
        ``node``. Any degree-2 node left at the old root is removed (its two branches joined).
        """
        if not 0 <= node < self.root:
            raise PhyloVIError(f"cannot reroot above node {node}: it must be a non-root node")
        base = self._without_degree_two_root()
        node = base._map_node_after_suppression(self, node)
        neighbours, lengths = base._undirected_edges()
        up = int(base.parent[node])
        total = float(base.branch_length[node])
        new_root = base.n_nodes
        neighbours.append([node, up])
        neighbours[node][neighbours[node].index(up)] = new_root
        neighbours[up][neighbours[up].index(node)] = new_root
        lengths[(node, new_root)] = total * position
        lengths[(up, new_root)] = total * (1.0 - position)
        taxon = np.concatenate([base.taxon, [-1]]).astype(np.int32)
        return base._rebuild(neighbours, lengths, new_root, taxon, rooted=True)

    def reroot_at_node(self, node: int) -> "Tree":
        """The same unrooted tree drawn from internal node ``node`` (``rooted`` = False)."""
        if self.taxon[node] >= 0:
            raise PhyloVIError(f"node {node} is a leaf; choose an internal node to draw the tree from")
        base = self._without_degree_two_root()
        node = base._map_node_after_suppression(self, node)
        neighbours, lengths = base._undirected_edges()
        return base._rebuild(neighbours, lengths, node, base.taxon, rooted=False)

    def unroot(self) -> "Tree":
        """Unrooted tree: a bifurcating root is removed by joining its two branches."""
        base = self._without_degree_two_root()
        return Tree(base.parent, base.branch_length, base.taxon, self.taxa, rooted=False,
                    name=self.name, weight=self.weight)

    def _without_degree_two_root(self) -> "Tree":
        if self.n_children[self.root] != 2 or self.n_leaves < 3:
            return self
        left, right = self.children(self.root)
        keep, drop = (left, right) if self.taxon[right] < 0 else (right, left)
        if self.taxon[drop] >= 0:
            return self
        neighbours, lengths = self._undirected_edges()
        joined = np.nansum([self.branch_length[left], self.branch_length[right]])
        if np.isnan(self.branch_length[left]) and np.isnan(self.branch_length[right]):
            joined = np.nan
        neighbours[keep] = [n for n in neighbours[keep] if n != self.root] + [drop]
        neighbours[drop] = [n for n in neighbours[drop] if n != self.root] + [keep]
        lengths[(keep, drop)] = lengths[(drop, keep)] = joined
        neighbours[self.root] = []
        return self._rebuild(neighbours, lengths, int(drop), self.taxon, rooted=self.rooted)

    def _map_node_after_suppression(self, original: "Tree", node: int) -> int:
        """Node of ``self`` (original with its root suppressed) below the same clade as ``node``."""
        if self is original:
            return node
        target = original.clades[node]
        matches = np.flatnonzero(np.all(self.clades == target, axis=1))
        if len(matches) == 0:
            complement = original.leaf_set ^ target
            matches = np.flatnonzero(np.all(self.clades == complement, axis=1))
        return int(matches[0])

    def __repr__(self) -> str:
        kind = "rooted" if self.rooted else "unrooted"
        return f"Tree({self.n_leaves} leaves, {kind}, name={self.name!r})"
