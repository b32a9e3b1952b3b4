"""The one namespace check: common_namespace and the wording of a taxon difference."""
from __future__ import annotations

import pytest

from phylo_vi.errors import PhyloVIError, TaxonMismatchError
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace, TreeArrays
from phylo_vi.trees.taxa import common_namespace, describe_taxon_difference


def test_equal_namespaces_give_the_first():
    first, second = TaxonNamespace("abc"), TaxonNamespace("abc")
    assert common_namespace([first, second, first]) is first


def test_trees_on_different_taxa_name_the_item_and_the_taxa():
    first = parse_newick("(a,b,(c,d));", TaxonNamespace())
    second = parse_newick("(a,b,(c,e));", TaxonNamespace())
    with pytest.raises(TaxonMismatchError, match="item 2 differs from the first "
                                                 r"\(missing from item 2: d; in item 2 but not in the first: e\)"):
        common_namespace([first, second])


def test_same_taxa_in_another_order_are_different_namespaces():
    with pytest.raises(TaxonMismatchError, match="the same taxa in another order"):
        common_namespace([TaxonNamespace("abc"), TaxonNamespace("bac")], what="runs")


def test_nothing_given_is_an_error():
    with pytest.raises(PhyloVIError, match="no runs given"):
        common_namespace([], what="runs")


def test_difference_lists_sorted_names():
    assert describe_taxon_difference(["x", "b", "a"], ["a", "z", "y"], have_name="A", want_name="B") == \
        "missing from A: y, z; in A but not in B: b, x"


def test_tree_arrays_refuse_two_namespaces():
    trees = [parse_newick("(a,b,(c,d));", TaxonNamespace()), parse_newick("(a,b,(c,d));", TaxonNamespace("dcba"))]
    with pytest.raises(TaxonMismatchError, match="same taxa in another order"):
        TreeArrays.from_trees(trees)
