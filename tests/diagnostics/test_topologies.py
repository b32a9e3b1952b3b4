"""Topology frequencies, cumulative probabilities and credible sets."""
import dendropy
import numpy as np
import pytest
from dendropy.calculate import treecompare

from phylo_vi.diagnostics import topology_frequencies
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees import TaxonNamespace, Tree


def test_ds1_trprobs_rep1(shared_data):
    path = shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"
    topologies = topology_frequencies(read_nexus_trees(path))
    # issue 2 "Done when": 1278 distinct topologies whose probabilities sum to 1
    assert topologies.n_topologies == 1278
    assert topologies.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    # the file's own [&W] values, read with a regular expression (independent of our parser)
    import re

    weights = [float(w) for w in re.findall(r"\[&W ([0-9.]+)\]", path.read_text())]
    np.testing.assert_allclose(topologies.weights, sorted(weights, reverse=True), rtol=0, atol=1e-15)
    # MrBayes' own cumulative column P of the first lines ("[p = 0.277, P = 0.277]", "P = 0.474")
    assert topologies.cumulative[:2] == pytest.approx([0.277, 0.474], abs=1e-3)


def test_ds1_subsampled_has_ten_distinct_topologies(shared_data):
    # 10 MCMC trees (bito's DS1.subsampled_10.t); compared with DendroPy's symmetric-difference distance
    path = shared_data / "DS1" / "DS1.subsampled_10.t"
    trees = dendropy.TreeList.get(path=str(path), schema="nexus", preserve_underscores=True)
    distinct = []
    for tree in trees:
        if not any(treecompare.symmetric_difference(tree, other) == 0 for other in distinct):
            distinct.append(tree)
    assert topology_frequencies(read_nexus_trees(path)).n_topologies == len(distinct)


def test_order_probabilities_and_credible_sets_by_hand():
    taxa = TaxonNamespace(["A", "B", "C", "D", "E"])
    shapes = {"x": "((A,B),C,(D,E));", "y": "((A,C),B,(D,E));", "z": "((A,D),C,(B,E));"}
    sample = ["y", "x", "x", "z", "x", "y", "x", "x", "y", "x"]  # x 6, y 3, z 1
    topologies = topology_frequencies(parse_newick(shapes[s], taxa) for s in sample)
    np.testing.assert_allclose(topologies.probabilities, [0.6, 0.3, 0.1], atol=1e-15)
    np.testing.assert_allclose(topologies.cumulative, [0.6, 0.9, 1.0], atol=1e-15)
    assert [topologies.credible_set_size(level) for level in (0.5, 0.6, 0.9, 0.95)] == [1, 1, 2, 3]
    rerooted = parse_newick(topologies.newick(0), taxa)
    assert rerooted.topology_key() == parse_newick(shapes["x"], taxa).topology_key()


def test_rerooted_drawings_of_one_unrooted_tree_are_one_topology():
    taxa = TaxonNamespace()
    drawings = ["((A,B),C,(D,E));", "(A,B,(C,(D,E)));", "((D,E),(A,B),C);"]
    assert topology_frequencies(parse_newick(t, taxa) for t in drawings).n_topologies == 1


def test_newick_of_a_topology_is_that_of_the_general_writer(shared_data):
    # the topology writer skips the Tree object; reference: format_newick of the same tree without
    # branch lengths, on every DS1 topology (unrooted) and on rooted trees with names that need quotes
    from phylo_vi.io.newick import format_newick

    path = shared_data / "DS1" / "short_run" / "rep_1" / "DS1.trprobs"
    topologies = topology_frequencies(read_nexus_trees(path))
    taxa = TaxonNamespace()
    rooted = [parse_newick(text, taxa, rooted=True) for text in
              ("((a:1,'b c':2):1,(d:1,'e''s':1):2);", "(((a,d),'e''s'),'b c');")]
    quoted = topology_frequencies(rooted)
    for frequencies in (topologies, quoted):
        for index in range(frequencies.n_topologies):
            parent, taxon, is_rooted = frequencies.shapes[index]
            tree = Tree(parent, np.full(len(parent), np.nan), taxon, frequencies.taxa, rooted=is_rooted)
            assert frequencies.newick(index) == format_newick(tree, lengths=False)
    assert quoted.newick(0).startswith("[&R] ") and "'b c'" in quoted.newick(0) and "'e''s'" in quoted.newick(0)
