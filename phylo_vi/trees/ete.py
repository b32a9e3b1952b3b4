"""Conversion between :class:`~phylo_vi.trees.Tree` and ete3 ``TreeNode`` objects.

ete3 stores a tree as linked nodes with ``name`` and ``dist`` (branch length) attributes and has
no rooted flag. The conversion keeps child order, taxon names (leaf ``name``) and branch
lengths; a missing length (NaN) stays NaN in ``dist``. ete3 gives every node a ``dist``,
the root included, so :func:`to_ete` writes the root's length when the tree has one (0.0
otherwise) and :func:`from_ete` reads it back only when it is not 0.0. Internal-node names
and other ete3 features are not carried over.

ete3 is imported only when these functions run (``pip install ete3 six``).
"""
from __future__ import annotations

import math

import numpy as np

from phylo_vi.errors import PhyloVIError, TaxonMismatchError
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree


def to_ete(tree: Tree):
    """The tree as an ete3 ``TreeNode`` (leaf ``name`` = taxon name, ``dist`` = branch length)."""
    from ete3 import TreeNode

    nodes = [TreeNode() for _ in range(tree.n_nodes)]
    for node in range(tree.n_nodes):
        ete_node = nodes[node]
        t = int(tree.taxon[node])
        if t >= 0:
            ete_node.name = tree.taxa[t]
        length = float(tree.branch_length[node])
        ete_node.dist = 0.0 if node == tree.root and math.isnan(length) else length
        for child in tree.children(node):
            ete_node.add_child(nodes[int(child)])
    return nodes[tree.root]


def from_ete(node, taxa: TaxonNamespace | None = None, *, rooted: bool | None = None,
             add_taxa: bool = True) -> Tree:
    """A :class:`Tree` from an ete3 ``TreeNode`` (taken as the root).

    Leaf names are looked up in ``taxa`` (a new namespace when None) and appended when new
    and ``add_taxa``. ``rooted`` None means rooted exactly when the root has two children
    (ete3 writes unrooted trees with a trifurcating root).
    """
    taxa = TaxonNamespace() if taxa is None else taxa
    order = list(node.traverse("postorder"))
    index = {id(ete_node): position for position, ete_node in enumerate(order)}
    parent = np.full(len(order), -1, dtype=np.int32)
    length = np.empty(len(order))
    taxon = np.full(len(order), -1, dtype=np.int32)
    for position, ete_node in enumerate(order):
        length[position] = float(ete_node.dist)
        if ete_node.is_leaf():
            name = ete_node.name
            if not name:
                raise PhyloVIError(f"ete3 leaf {position} has no name")
            found = taxa.get(name)
            if found is None:
                if not add_taxa:
                    raise TaxonMismatchError(f"taxon {name!r} of the ete3 tree is not in the namespace")
                found = taxa.add(name)
            taxon[position] = found
        if ete_node is not node:
            parent[position] = index[id(ete_node.up)]
    if length[-1] == 0.0:
        length[-1] = np.nan
    if rooted is None:
        rooted = len(node.children) == 2
    return Tree(parent, length, taxon, taxa, rooted=rooted)
