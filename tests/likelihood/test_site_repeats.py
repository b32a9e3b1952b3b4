"""Site repeats: the classes are the distinct leaf patterns below a node, and evaluating per
class gives the per-pattern result.

References: the dense per-pattern pruning of the same engine (``site_repeats=False``, itself
checked against IQ-TREE, BEAGLE and NumPy in test_reference_values.py) and the independent
NumPy pruning of likelihood_reference.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.likelihood.site_repeats import site_classes

GTR_G4_I = "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}+I{0.2}"
SIM_MODEL = "GTR{1.2,3.1,0.8,0.9,4.0}+F{0.30,0.20,0.22,0.28}+G4{0.5}"


def leaves_below(tree, node: int) -> list[int]:
    children = tree.children(node)
    if len(children) == 0:
        return [int(tree.taxon[node])]
    return [row for c in children for row in leaves_below(tree, c)]


@pytest.fixture(scope="module")
def tree_a(reference_dir):
    return next(read_newick(reference_dir / "DS1_treeA_mapJC.nwk"))


def test_classes_are_the_distinct_leaf_patterns_below_each_node(tree_a, ds1_patterns):
    # exact reference: np.unique over the columns of the codes of the leaves below the node
    patterns = ds1_patterns.match_taxa(tree_a.taxa)
    node_classes, class_offsets, _, _, boundary_row, pattern_class = site_classes(tree_a, patterns.codes)
    compact = [u for u in range(tree_a.n_nodes) if node_classes[u] > 0 and len(tree_a.children(u)) > 0]
    assert len(compact) > 5 and any(boundary_row >= 0)
    for u in compact:
        below = patterns.codes[leaves_below(tree_a, u)]
        _, inverse = np.unique(below.T, axis=0, return_inverse=True)
        assert node_classes[u] == inverse.max() + 1
        if boundary_row[u] >= 0:
            ours = pattern_class[boundary_row[u]] - class_offsets[u]
            # same partition of the patterns: each class of ours is exactly one distinct column
            pairs = np.unique(np.stack([ours, inverse.ravel()]), axis=1)
            assert pairs.shape[1] == node_classes[u]


@pytest.mark.parametrize("case", ["DS1 JC", "DS1 GTR+G4+I", "sim100 GTR+G4"])
def test_site_repeats_equal_dense_pruning(case, reference_dir, ds1_patterns, sim_patterns, tree_a):
    # reference: the same engine pruning every pattern (site_repeats=False)
    if case.startswith("DS1"):
        patterns, tree, model = ds1_patterns, tree_a, "JC" if case == "DS1 JC" else GTR_G4_I
    else:
        patterns, tree, model = sim_patterns, next(read_newick(reference_dir / "sim100x10000.true.nwk")), SIM_MODEL
    repeats = TreeLikelihood(patterns, tree, model)
    dense = TreeLikelihood(patterns, tree, model, site_repeats=False)
    assert repeats.plan.node_classes.sum() > 0 and dense.plan.node_classes.shape[0] == 0
    rng = np.random.default_rng(11)
    samples = tree.branch_length[:-1] * rng.uniform(0.5, 1.5, (3, repeats.n_branches))
    np.testing.assert_allclose(repeats.log_likelihood_batch(samples), dense.log_likelihood_batch(samples),
                               rtol=1e-13)
    np.testing.assert_allclose(repeats.pattern_log_likelihoods(samples[0]), dense.pattern_log_likelihoods(samples[0]),
                               rtol=1e-12)


def test_site_repeats_with_threads_and_ambiguity_match_numpy_pruning(tree_a, numpy_reference):
    # reference: the independent NumPy pruning; random columns over few codes, with ambiguous
    # (A/G = 5) and missing (15) ones, make most nodes compact; two threads split the blocks
    rng = np.random.default_rng(3)
    codes = rng.choice(np.array([1, 2, 5, 15], dtype=np.uint8), p=[0.5, 0.3, 0.1, 0.1],
                       size=(len(tree_a.taxa), 400))
    patterns = SitePatterns(tree_a.taxa, codes, rng.integers(1, 4, 400).astype(float))
    lengths = tree_a.branch_length[:-1]
    q = numpy_reference.rate_matrix(np.ones(6), np.full(4, 0.25))
    expected = numpy_reference.log_likelihood(patterns.codes, patterns.weights, tree_a, q, np.full(4, 0.25),
                                              branch_lengths=lengths, per_pattern=True)
    single = TreeLikelihood(patterns, tree_a, "JC")
    threaded = TreeLikelihood(patterns, tree_a, "JC", n_threads=2, block=64)
    assert single.plan.node_classes.sum() > 0
    np.testing.assert_allclose(single.pattern_log_likelihoods(lengths), expected, rtol=1e-10)
    total = float(patterns.weights @ expected)
    assert single.log_likelihood(lengths) == pytest.approx(total, rel=1e-12)
    assert threaded.log_likelihood(lengths) == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(threaded.log_likelihood_batch(np.stack([lengths, 2 * lengths])),
                               single.log_likelihood_batch(np.stack([lengths, 2 * lengths])), rtol=1e-13)


@pytest.mark.parametrize("case", ["DS1 GTR+G4+I", "sim100 GTR+G4"])
def test_gradients_per_class_equal_dense_gradients(case, reference_dir, ds1_patterns, sim_patterns, tree_a):
    # reference: the same engine's per-pattern post- and pre-order passes (site_repeats=False),
    # checked against BEAGLE and finite differences in test_gradients.py
    if case.startswith("DS1"):
        patterns, tree, model = ds1_patterns, tree_a, GTR_G4_I
    else:
        patterns, tree, model = sim_patterns, next(read_newick(reference_dir / "sim100x10000.true.nwk")), SIM_MODEL
    repeats = TreeLikelihood(patterns, tree, model)
    dense = TreeLikelihood(patterns, tree, model, site_repeats=False)
    lengths = tree.branch_length[:-1] * 1.3
    value, gradient = repeats.gradient(lengths)
    dense_value, dense_gradient = dense.gradient(lengths)
    assert value == pytest.approx(dense_value, rel=1e-13)
    np.testing.assert_allclose(gradient, dense_gradient, rtol=1e-9, atol=1e-9 * np.abs(dense_gradient).max())
    assert repeats.gamma_shape_derivative(lengths) == pytest.approx(dense.gamma_shape_derivative(lengths), rel=1e-9)
    np.testing.assert_allclose(repeats.exchangeability_gradient(lengths), dense.exchangeability_gradient(lengths),
                               rtol=1e-9)
    threaded = TreeLikelihood(patterns, tree, model, n_threads=2)
    np.testing.assert_allclose(threaded.gradient(lengths)[1], dense_gradient, rtol=1e-9,
                               atol=1e-9 * np.abs(dense_gradient).max())


@pytest.mark.parametrize("n_taxa", [3, 4, 7, 40])
def test_small_and_random_trees_with_and_without_site_repeats(n_taxa):
    # reference: the per-pattern engine; random rooted and unrooted shapes, including a rooted
    # binary root and trees too small to have any compact node
    from phylo_vi.io.newick import parse_newick
    from phylo_vi.trees import TaxonNamespace
    rng = np.random.default_rng(n_taxa)
    for rooted in (False, True):
        clades = [f"t{i}:{rng.uniform(0.01, 0.3)!r}" for i in range(n_taxa)]
        while len(clades) > (2 if rooted else 3):
            i, j = sorted(rng.choice(len(clades), 2, replace=False))
            joined = f"({clades[i]},{clades[j]}):{rng.uniform(0.01, 0.3)!r}"
            clades = [c for k, c in enumerate(clades) if k not in (i, j)] + [joined]
        tree = parse_newick("(" + ",".join(clades) + ");", TaxonNamespace())
        codes = rng.choice(np.array([1, 2, 4, 8, 15], dtype=np.uint8), size=(n_taxa, 300))
        patterns = SitePatterns(tree.taxa, codes, np.ones(300))
        repeats = TreeLikelihood(patterns, tree, "HKY{2.0}+F{0.3,0.2,0.2,0.3}+G4{0.7}")
        dense = TreeLikelihood(patterns, tree, "HKY{2.0}+F{0.3,0.2,0.2,0.3}+G4{0.7}", site_repeats=False)
        assert repeats.log_likelihood() == pytest.approx(dense.log_likelihood(), rel=1e-13)
        np.testing.assert_allclose(repeats.gradient()[1], dense.gradient()[1], rtol=1e-9, atol=1e-9)
