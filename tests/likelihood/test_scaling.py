"""Underflow: a 1,000-taxon tree with long branches stays finite and exact."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import parse_newick
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.trees import TaxonNamespace

N_TAXA = 1000


def random_tree(rng, n_taxa: int, low: float, high: float):
    """Random unrooted topology (random joins) with Uniform(low, high) branch lengths."""
    clades = [f"t{i}:{rng.uniform(low, high)!r}" for i in range(n_taxa)]
    while len(clades) > 3:
        i, j = sorted(rng.choice(len(clades), 2, replace=False))
        joined = f"({clades[i]},{clades[j]}):{rng.uniform(low, high)!r}"
        clades = [c for k, c in enumerate(clades) if k not in (i, j)] + [joined]
    return parse_newick("(" + ",".join(clades) + ");", TaxonNamespace())


@pytest.fixture(scope="module")
def big_problem():
    rng = np.random.default_rng(2024)
    tree = random_tree(rng, N_TAXA, 0.2, 1.0)
    constant = np.repeat(np.array([[1, 2, 4, 8, 1, 4]], dtype=np.uint8), N_TAXA, axis=0)
    variable = rng.choice(np.array([1, 2, 4, 8, 15, 5], dtype=np.uint8), size=(N_TAXA, 6))
    codes = np.concatenate([constant, variable], axis=1)
    patterns = SitePatterns(tree.taxa, codes, np.ones(codes.shape[1]))
    return tree, patterns


@pytest.mark.parametrize("scale", [0.002, 1.0])
def test_long_branches_finite_and_equal_to_unscaled_where_finite(big_problem, scale, numpy_reference):
    # reference: the NumPy pruning of likelihood_reference.py, once without any rescaling
    # (a textbook implementation, which underflows to -inf) and once rescaled at every node
    tree, patterns = big_problem
    lengths = tree.branch_length[:-1] * scale
    q = numpy_reference.rate_matrix(np.ones(6), np.full(4, 0.25))
    args = (patterns.codes, patterns.weights, tree, q, np.full(4, 0.25))
    unscaled = numpy_reference.log_likelihood(*args, branch_lengths=lengths, scaled=False, per_pattern=True)
    scaled = numpy_reference.log_likelihood(*args, branch_lengths=lengths, scaled=True, per_pattern=True)
    ours = np.array([TreeLikelihood(SitePatterns(tree.taxa, patterns.codes[:, [p]], np.ones(1)), tree, "JC")
                     .log_likelihood(lengths) for p in range(patterns.n_patterns)])
    assert np.all(np.isfinite(ours))
    finite = np.isfinite(unscaled)
    if scale == 1.0:
        assert not finite.all()      # the case must really underflow without scaling
    else:
        assert finite.any()
    np.testing.assert_allclose(ours[finite], unscaled[finite], rtol=1e-10)
    np.testing.assert_allclose(ours, scaled, rtol=1e-10)
    total = TreeLikelihood(patterns, tree, "JC").log_likelihood(lengths)
    assert total == pytest.approx(scaled.sum(), rel=1e-10)


def test_gradient_under_scaling_matches_finite_differences(big_problem):
    # reference: central finite differences (h = 1e-6) of the (rescaled) log-likelihood
    tree, patterns = big_problem
    likelihood = TreeLikelihood(patterns, tree, "JC+G4{0.5}")
    t = tree.branch_length[:-1].copy()
    value, gradient = likelihood.gradient(t)
    assert np.isfinite(value) and np.all(np.isfinite(gradient))
    h = 1e-6
    for branch in [0, 500, likelihood.n_branches - 1]:
        e = np.zeros_like(t)
        e[branch] = h
        fd = (likelihood.log_likelihood(t + e) - likelihood.log_likelihood(t - e)) / (2 * h)
        assert gradient[branch] == pytest.approx(fd, rel=1e-5, abs=1e-5)
    # two threads: the blocks of one thread need rescaling, so both start over without site classes
    threaded = TreeLikelihood(patterns, tree, "JC+G4{0.5}", n_threads=2, block=4)
    threaded_value, threaded_gradient = threaded.gradient(t)
    assert threaded_value == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(threaded_gradient, gradient, rtol=1e-9, atol=1e-9)
