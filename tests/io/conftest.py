"""Fixtures of the tree-reader tests: DendroPy as the independent oracle (splits, clades, lengths)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from phylo_vi.trees.bitset import bitset_indices


def _length(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def dendropy_trees(path, schema: str, rooted: bool):
    import dendropy

    return dendropy.TreeList.get(path=str(path), schema=schema, preserve_underscores=True,
                                 rooting="force-rooted" if rooted else "force-unrooted",
                                 store_tree_weights=True)


def dendropy_edges(tree, rooted: bool) -> dict:
    """``{clade or split: branch length}`` of a DendroPy tree; a split is a frozenset of two clades."""
    everything = frozenset(leaf.taxon.label for leaf in tree.leaf_node_iter())
    edges = {}
    for node in tree.postorder_node_iter():
        if node is tree.seed_node:
            continue
        clade = frozenset(leaf.taxon.label for leaf in node.leaf_iter())
        key = clade if rooted else frozenset([clade, everything - clade])
        edges[key] = _length(node.edge_length)
    return edges


def phylo_vi_edges(tree, rooted: bool) -> dict:
    """The same mapping for a phylo_vi :class:`Tree`."""
    everything = frozenset(tree.taxa[i] for i in bitset_indices(tree.leaf_set))
    edges = {}
    for node in range(tree.n_nodes - 1):
        clade = frozenset(tree.taxa[i] for i in bitset_indices(tree.clades[node]))
        key = clade if rooted else frozenset([clade, everything - clade])
        edges[key] = _length(float(tree.branch_length[node]))
    return edges


def nontrivial_dendropy_splits(tree) -> set:
    everything = frozenset(leaf.taxon.label for leaf in tree.leaf_node_iter())
    splits = set()
    for node in tree.postorder_node_iter():
        clade = frozenset(leaf.taxon.label for leaf in node.leaf_iter())
        if 2 <= len(clade) <= len(everything) - 2:
            splits.add(frozenset([clade, everything - clade]))
    return splits


def nontrivial_phylo_vi_splits(tree) -> set:
    everything = frozenset(tree.taxa[i] for i in bitset_indices(tree.leaf_set))
    return {frozenset([side, everything - side])
            for side in (frozenset(tree.taxa[i] for i in bitset_indices(row)) for row in tree.splits())}


def assert_same_edges(ours: dict, theirs: dict, tolerance: float = 1e-12) -> None:
    assert ours.keys() == theirs.keys()
    for key, length in theirs.items():
        if length is None:
            assert ours[key] is None
        else:
            assert ours[key] is not None and abs(ours[key] - length) <= tolerance * max(1.0, abs(length))


@pytest.fixture(scope="session")
def oracle() -> SimpleNamespace:
    """DendroPy reading helpers and the matching views of phylo_vi trees."""
    return SimpleNamespace(trees=dendropy_trees, dendropy_edges=dendropy_edges, phylo_vi_edges=phylo_vi_edges,
                           dendropy_splits=nontrivial_dendropy_splits, phylo_vi_splits=nontrivial_phylo_vi_splits,
                           assert_same_edges=assert_same_edges)
