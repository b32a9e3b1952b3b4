"""Conversion to and from ete3 TreeNode, with ete3's own Newick parser as the reference."""
from __future__ import annotations

import math

import ete3
import numpy as np
import pytest

from phylo_vi.errors import TaxonMismatchError
from phylo_vi.io.newick import format_newick, parse_newick
from phylo_vi.trees import TaxonNamespace
from phylo_vi.trees.ete import from_ete, to_ete


@pytest.mark.parametrize("seed", range(3))
def test_round_trip_keeps_arrays(make_tree, seed):
    tree = make_tree(12, seed, max_children=3)
    again = from_ete(to_ete(tree), tree.taxa, rooted=False)
    np.testing.assert_array_equal(again.parent, tree.parent)
    np.testing.assert_array_equal(again.taxon, tree.taxon)
    np.testing.assert_array_equal(again.branch_length, tree.branch_length)


def test_ete_parser_as_reference(make_tree):
    # reference: ete3's own Newick parser (format=1) on our Newick text gives the same tree
    tree = make_tree(15, 3)
    theirs = ete3.Tree(format_newick(tree), format=1)
    again = from_ete(theirs, tree.taxa)
    assert again.topology_key() == tree.topology_key()
    np.testing.assert_allclose(again.branch_length[:-1], tree.branch_length[:-1], rtol=1e-12, atol=0)
    # and ete3 sees what we built: leaf names and the distance between two leaves
    ours_ete = to_ete(tree)
    a, b = tree.taxa[0], tree.taxa[1]
    assert ours_ete.get_distance(a, b) == pytest.approx(theirs.get_distance(a, b), rel=1e-12)
    assert sorted(ours_ete.get_leaf_names()) == sorted(tree.taxa.names)


def test_rooting_follows_root_degree_and_missing_lengths_stay_nan():
    taxa = TaxonNamespace()
    rooted = parse_newick("((A:1,B:2):0.5,(C,D:1):0.5);", taxa, rooted=True)
    back = from_ete(to_ete(rooted), taxa)
    assert back.rooted and back.topology_key() == rooted.topology_key()
    assert math.isnan(back.branch_length[back.leaf_of_taxon[taxa.index("C")]])
    assert math.isnan(back.branch_length[back.root])


def test_unknown_leaf_without_add_taxa():
    node = ete3.Tree("((A,B),C,D);")
    with pytest.raises(TaxonMismatchError, match="'D'"):
        from_ete(node, TaxonNamespace(["A", "B", "C"]), add_taxa=False)
