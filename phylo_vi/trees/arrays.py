"""Many trees of one shape as two integer matrices: the array form of a tree sample.

``parent`` and ``taxon`` have shape ``(T, N)`` for ``T`` trees of ``N`` nodes each, row ``i``
holding the post-order arrays of tree ``i`` (see :class:`~phylo_vi.trees.Tree`); ``weights``
``(T,)`` are the trees' weights (MrBayes ``[&W]``, else 1). The batch reader fills them without
building :class:`Tree` objects (:func:`phylo_vi.sbn.read_tree_arrays`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.trees.taxa import TaxonNamespace, common_namespace
from phylo_vi.trees.tree import Tree


@dataclass
class TreeArrays:
    """Post-order ``parent`` and ``taxon`` arrays ``(T, N)`` of ``T`` trees with ``N`` nodes each.

    The array form of a tree sample (see :class:`~phylo_vi.trees.Tree` for the arrays), built from
    :class:`Tree` objects or straight from the batch reader (:mod:`phylo_vi.sbn.reading`).
    """

    parent: np.ndarray
    taxon: np.ndarray
    weights: np.ndarray
    taxa: TaxonNamespace
    rooted: bool = False

    def __len__(self) -> int:
        return len(self.weights)

    def subset(self, rows) -> "TreeArrays":
        """The trees at ``rows`` (indices or a boolean mask)."""
        return TreeArrays(self.parent[rows], self.taxon[rows], self.weights[rows], self.taxa, rooted=self.rooted)

    def tree(self, i: int) -> Tree:
        """Tree ``i`` (a topology: branch lengths are NaN)."""
        return Tree(self.parent[i], np.full(self.parent.shape[1], np.nan), self.taxon[i], self.taxa,
                    rooted=self.rooted, weight=float(self.weights[i]))

    @classmethod
    def from_trees(cls, trees: Sequence[Tree], sample_weight: Sequence[float] | None = None,
                   n_nodes: int | None = None) -> "TreeArrays":
        """Stack trees; ``n_nodes = 2n − 2`` turns bifurcating roots into trifurcating ones (unrooting)."""
        trees = list(trees)
        if not trees:
            raise EmptyInputError("no trees given")
        taxa = common_namespace(trees)
        if n_nodes is not None:
            trees = [tree.unroot() if len(tree.parent) == n_nodes + 1 else tree for tree in trees]
        sizes = {len(tree.parent) for tree in trees}
        if len(sizes) > 1:
            raise PhyloVIError(f"trees have different numbers of nodes ({sorted(sizes)}); all must be binary "
                               "trees on the same taxa")
        weights = [tree.weight for tree in trees] if sample_weight is None else sample_weight
        return cls(np.stack([tree.parent for tree in trees]), np.stack([tree.taxon for tree in trees]),
                   np.asarray(weights, dtype=np.float64), taxa, rooted=all(tree.rooted for tree in trees))
