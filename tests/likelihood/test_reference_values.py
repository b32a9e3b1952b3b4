"""Log-likelihoods against published and cross-program reference values."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood


def read_tree(path):
    return next(read_newick(path))


def test_sixteen_reference_cases(reference_dir, reference_cases, ds1_patterns, sim_patterns):
    # reference: shared/data/reference/reference_loglik.tsv, IQ-TREE 2.0.7 column (BEAGLE 3.1.2,
    # PhyML 3.3 and an independent NumPy code agree with it to every printed digit)
    assert len(reference_cases) == 16
    for case in reference_cases:
        patterns = ds1_patterns if case["alignment"].startswith("DS1") else sim_patterns
        tree = read_tree(reference_dir / case["tree"])
        value = TreeLikelihood(patterns, tree, case["model"]).log_likelihood()
        assert value == pytest.approx(float(case["iqtree_2.0.7"]), rel=1e-8), case["case"]
        assert value == pytest.approx(float(case["beagle_3.1.2"]), rel=1e-12), case["case"]


def test_ds1_subsampled_trees_match_bito(shared_data):
    # reference: shared/data/README.md section 4 (bito "pybeagle_likelihoods", BEAGLE double)
    from phylo_vi.io import read_alignment
    from phylo_vi.io.nexus import read_nexus_trees
    from phylo_vi.likelihood.topologies import log_likelihood_trees

    expected = [-14582.995273982739, -6911.294207416366, -6916.880235529542, -6904.016888831189,
                -6915.055570693576, -6915.50496696512, -6910.958836661867, -6909.02639968063,
                -6912.967861935749, -6910.7871105783515]
    patterns = read_alignment(shared_data / "DS1" / "DS1.fasta").site_patterns()
    trees = list(read_nexus_trees(shared_data / "DS1" / "DS1.subsampled_10.t"))
    np.testing.assert_allclose(log_likelihood_trees(patterns, trees, "JC"), expected, rtol=0, atol=1e-6)
    # one tree through the single-topology object gives the same number
    assert TreeLikelihood(patterns, trees[3], "JC").log_likelihood() == pytest.approx(expected[3], abs=1e-6)


def test_toy_hello(shared_data):
    # reference: shared/data/README.md section 5 (bito unrooted_sbn_instance.hpp), -84.852358
    from phylo_vi.io import read_alignment

    patterns = read_alignment(shared_data / "toy" / "hello.fasta").site_patterns()
    tree = read_tree(shared_data / "toy" / "hello.nwk")
    assert TreeLikelihood(patterns, tree, "JC").log_likelihood() == pytest.approx(-84.852358, abs=5e-7)


@pytest.mark.parametrize("model", ["F81+F{0.3,0.2,0.2,0.3}+I{0.2}",
                                   "TN{2.5,4.1}+F{0.2340,0.2568,0.2799,0.2293}+I{0.1}+G4{0.7}",
                                   "HKY{1.89}+F+G6{0.4}"])
def test_models_without_published_values_match_numpy_reference(model, numpy_reference, reference_dir,
                                                                 ds1_patterns):
    # reference: the independent NumPy pruning (scipy expm, quadrature gamma rates) of likelihood_reference.py
    from phylo_vi.likelihood import empirical_frequencies, parse_model

    tree = read_tree(reference_dir / "DS1_treeB_mlGTRG4.nwk")
    patterns = ds1_patterns.match_taxa(tree.taxa)
    parsed = parse_model(model)
    pi = parsed.frequencies if parsed.frequencies is not None else empirical_frequencies(patterns.codes,
                                                                                         patterns.weights)
    rates = (numpy_reference.gamma_mean_rates(parsed.gamma_shape, parsed.n_categories)
             if parsed.gamma_shape else np.ones(1))
    p_inv = parsed.invariant_proportion
    expected = numpy_reference.log_likelihood(
        patterns.codes, patterns.weights, tree, numpy_reference.rate_matrix(parsed.exchangeabilities, pi), pi,
        rates=rates / (1 - p_inv), p_inv=p_inv)
    assert TreeLikelihood(ds1_patterns, tree, parsed).log_likelihood() == pytest.approx(expected, rel=1e-10)


def test_median_gamma_matches_numpy_reference(numpy_reference, reference_dir, ds1_patterns):
    # reference: NumPy pruning with Yang's (1994) median rates computed by scipy.stats
    from scipy import stats

    from phylo_vi.likelihood import parse_model

    tree = read_tree(reference_dir / "DS1_treeA_mapJC.nwk")
    patterns = ds1_patterns.match_taxa(tree.taxa)
    medians = stats.gamma(0.3, scale=1 / 0.3).ppf((2 * np.arange(1, 5) - 1) / 8)
    expected = numpy_reference.log_likelihood(patterns.codes, patterns.weights, tree,
                                              numpy_reference.rate_matrix(np.ones(6), np.full(4, 0.25)),
                                              np.full(4, 0.25), rates=medians / medians.mean())
    model = parse_model("JC+G4{0.3}", gamma_median=True)
    assert TreeLikelihood(ds1_patterns, tree, model).log_likelihood() == pytest.approx(expected, rel=1e-10)


def test_gtr_with_jc_parameters_equals_jc(reference_dir, ds1_patterns):
    # reference: JC69 is GTR with unit exchangeabilities and equal frequencies (exact identity)
    tree = read_tree(reference_dir / "DS1_treeC_all0.1.nwk")
    jc = TreeLikelihood(ds1_patterns, tree, "JC+G4{0.5}").log_likelihood()
    gtr = TreeLikelihood(ds1_patterns, tree, "GTR{1,1,1,1,1}+F{0.25,0.25,0.25,0.25}+G4{0.5}").log_likelihood()
    assert gtr == pytest.approx(jc, rel=1e-13)


def test_unrooted_likelihood_does_not_depend_on_the_root(reference_dir, ds1_patterns):
    # reference: pulley principle (Felsenstein 1981): every rooting of a reversible model agrees
    tree = read_tree(reference_dir / "DS1_treeB_mlGTRG4.nwk")
    model = "GTR{0.6520,1.034,0.6213,1.849,3.341}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1447}"
    expected = -6482.14043530  # IQ-TREE, reference_loglik.tsv case B-GTR+G4
    internal = [v for v in range(tree.n_nodes - 1) if tree.taxon[v] < 0]
    for rerooted in [tree.reroot(3, 0.3), tree.reroot(internal[2], 0.9), tree.reroot_at_node(internal[5]),
                     tree.reroot_at_node(internal[-1])]:
        assert TreeLikelihood(ds1_patterns, rerooted, model).log_likelihood() == pytest.approx(expected, rel=1e-10)
