"""Brute-force enumeration of every binary topology on a few taxa (test reference).

Rooted trees on taxa 1..n-1 are built by stepwise insertion of each new taxon on every edge
(including above the root), which yields each rooted topology exactly once: (2n − 5)!! of them,
which are the unrooted topologies on n taxa once taxon 0 is attached at the root.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def _insertions(tree, leaf):
    yield (tree, leaf)
    if isinstance(tree, tuple):
        left, right = tree
        for sub in _insertions(left, leaf):
            yield (sub, right)
        for sub in _insertions(right, leaf):
            yield (left, sub)


def rooted_shapes(taxa: list[int]):
    """Every rooted binary topology on ``taxa`` as nested pairs."""
    shapes = [taxa[0]]
    for leaf in taxa[1:]:
        shapes = [new for shape in shapes for new in _insertions(shape, leaf)]
    return shapes


def _arrays(node, parent, taxon):
    """Append ``node`` in post-order; return its index."""
    if isinstance(node, tuple):
        kids = [_arrays(child, parent, taxon) for child in node]
    else:
        kids = []
    index = len(parent)
    parent.append(-1)
    taxon.append(-1 if isinstance(node, tuple) else node)
    for kid in kids:
        parent[kid] = index
    return index


def tree_from_nested(nested, taxa: TaxonNamespace, rooted: bool) -> Tree:
    parent: list[int] = []
    taxon: list[int] = []
    _arrays(nested, parent, taxon)
    return Tree(np.array(parent), np.full(len(parent), np.nan), np.array(taxon), taxa, rooted=rooted)


def all_unrooted_trees(n_taxa: int) -> tuple[TaxonNamespace, list[Tree]]:
    """All (2n − 5)!! unrooted binary topologies on taxa ``t0 .. t{n-1}`` (trifurcating roots)."""
    taxa = TaxonNamespace(f"t{i}" for i in range(n_taxa))
    trees = [tree_from_nested((0,) + shape, taxa, rooted=False) for shape in rooted_shapes(list(range(1, n_taxa)))]
    return taxa, trees


def all_rooted_trees(n_taxa: int) -> tuple[TaxonNamespace, list[Tree]]:
    """All (2n − 3)!! rooted binary topologies on taxa ``t0 .. t{n-1}``."""
    taxa = TaxonNamespace(f"t{i}" for i in range(n_taxa))
    return taxa, [tree_from_nested(shape, taxa, rooted=True) for shape in rooted_shapes(list(range(n_taxa)))]
