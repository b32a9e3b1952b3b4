"""Topology frequencies, cumulative probabilities and credible sets."""
import dendropy
import numpy as np
import pytest
from dendropy.calculate import treecompare

from phylo_vi.diagnostics import topology_frequencies
from phylo_vi.io.newick import parse_newick
from phylo_vi.io.nexus import read_nexus_trees
from phylo_vi.trees import TaxonNamespace


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
