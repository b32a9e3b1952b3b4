"""A stand-alone anchor (no ``../shared`` data): pruning on a simulated alignment against the independent
NumPy pruning of ``likelihood_reference.py``.

The alignment is simulated here with a fixed seed: a random 12-taxon unrooted tree, GTR+I+G4 sequences
of 600 sites drawn down the tree from the reference's own transition matrices (Taylor series with
scaling and squaring) and gamma rates (scipy quadrature), with 3% of the cells missing ('N') and 2%
ambiguous (R = A|G), so tips, ambiguity, +I constant-column terms and site repeats are all exercised.
Reference values: ``likelihood_reference.log_likelihood`` (shares no code with ``phylo_vi.likelihood``);
reference gradients: its central differences.
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import parse_newick
from phylo_vi.likelihood import GTR, JC69, TreeLikelihood
from phylo_vi.likelihood.branch_updates import branch_log_likelihood, build_branch_cache
from phylo_vi.trees import TaxonNamespace

SEED = 20240613
N_TAXA, N_SITES = 12, 600
EXCHANGEABILITIES = np.array([0.9, 2.8, 0.6, 1.2, 3.5, 1.0])
FREQUENCIES = np.array([0.3, 0.2, 0.22, 0.28])
GAMMA_SHAPE, P_INV = 0.6, 0.15


def _random_tree(rng):
    clades = [f"t{i}:{rng.uniform(0.01, 0.3)!r}" for i in range(N_TAXA)]
    while len(clades) > 3:
        i, j = sorted(rng.choice(len(clades), 2, replace=False))
        joined = f"({clades[i]},{clades[j]}):{rng.uniform(0.01, 0.2)!r}"
        clades = [c for k, c in enumerate(clades) if k not in (i, j)] + [joined]
    return parse_newick("(" + ",".join(clades) + ");", TaxonNamespace())


def _simulate(tree, reference, rng):
    """Tip codes (T x sites) drawn down ``tree`` under GTR+I+G4 (states A, C, G, T = bits 1, 2, 4, 8)."""
    q = reference.rate_matrix(EXCHANGEABILITIES, FREQUENCIES)
    rates = reference.gamma_mean_rates(GAMMA_SHAPE, 4) / (1 - P_INV)
    site_rate = np.where(rng.random(N_SITES) < P_INV, 0.0, rates[rng.integers(0, 4, N_SITES)])
    states = np.empty((tree.n_nodes, N_SITES), dtype=np.int64)
    states[tree.root] = rng.choice(4, size=N_SITES, p=FREQUENCIES)
    for node in range(tree.n_nodes - 2, -1, -1):        # parents before children
        pmats = reference.expm(q[None] * (tree.branch_length[node] * site_rate)[:, None, None])   # (sites, 4, 4)
        rows = pmats[np.arange(N_SITES), states[tree.parent[node]]]
        states[node] = (rng.random(N_SITES)[:, None] > np.cumsum(rows, axis=1)).sum(axis=1).clip(0, 3)
    codes = np.zeros((N_TAXA, N_SITES), dtype=np.uint8)
    leaves = np.flatnonzero(tree.taxon >= 0)
    codes[tree.taxon[leaves]] = (1 << states[leaves]).astype(np.uint8)
    codes[rng.random(codes.shape) < 0.03] = 15
    codes[(rng.random(codes.shape) < 0.02) & ((codes == 1) | (codes == 4))] = 5
    columns, weights = np.unique(codes, axis=1, return_counts=True)
    return SitePatterns(tree.taxa, columns, weights.astype(np.float64))


@pytest.fixture(scope="module")
def simulated(numpy_reference):
    rng = np.random.default_rng(SEED)
    tree = _random_tree(rng)
    return tree, _simulate(tree, numpy_reference, rng)


def _reference_log_likelihood(reference, patterns, tree, model, lengths):
    rates = (reference.gamma_mean_rates(model.gamma_shape, model.n_categories) if model.gamma_shape else np.ones(1))
    p_inv = model.invariant_proportion
    return reference.log_likelihood(patterns.codes, patterns.weights, tree,
                                    reference.rate_matrix(model.exchangeabilities, model.frequencies),
                                    model.frequencies, rates=rates / (1 - p_inv), p_inv=p_inv,
                                    branch_lengths=lengths)


MODELS = [JC69(), GTR(EXCHANGEABILITIES[:5], FREQUENCIES, gamma_shape=GAMMA_SHAPE, invariant_proportion=P_INV)]


@pytest.mark.parametrize("model", MODELS, ids=["JC69", "GTR+I+G4"])
def test_pruning_matches_numpy_reference_on_simulated_alignment(model, simulated, numpy_reference):
    tree, patterns = simulated
    lengths = tree.branch_length[:-1].copy()
    expected = _reference_log_likelihood(numpy_reference, patterns, tree, model, lengths)
    for lik in (TreeLikelihood(patterns, tree, model), TreeLikelihood(patterns, tree, model, site_repeats=False),
                TreeLikelihood(patterns, tree, model, n_threads=2)):
        assert lik.log_likelihood() == pytest.approx(expected, rel=1e-12, abs=0)
    assert patterns.n_patterns > 300                     # enough distinct columns for several pattern blocks


@pytest.mark.parametrize("model", MODELS, ids=["JC69", "GTR+I+G4"])
def test_gradient_matches_numpy_reference_differences(model, simulated, numpy_reference):
    # reference: central differences (step 1e-6) of the NumPy pruning, accurate to ~1e-6 absolute
    tree, patterns = simulated
    lengths = tree.branch_length[:-1].copy()
    step = 1e-6
    expected = np.empty(len(lengths))
    for b in range(len(lengths)):
        up, down = lengths.copy(), lengths.copy()
        up[b] += step
        down[b] -= step
        expected[b] = (_reference_log_likelihood(numpy_reference, patterns, tree, model, up)
                       - _reference_log_likelihood(numpy_reference, patterns, tree, model, down)) / (2 * step)
    for lik in (TreeLikelihood(patterns, tree, model), TreeLikelihood(patterns, tree, model, site_repeats=False)):
        _, gradient = lik.gradient(lengths)
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-5)


def test_single_branch_update_matches_numpy_reference(simulated, numpy_reference):
    tree, patterns = simulated
    model = MODELS[1]
    lik = TreeLikelihood(patterns, tree, model)
    lengths = tree.branch_length[:-1].copy()
    cache = build_branch_cache(lik.plan, lengths)
    for b, new in ((0, 0.5), (tree.n_nodes - 3, 1e-3)):
        moved = lengths.copy()
        moved[b] = new
        expected = _reference_log_likelihood(numpy_reference, patterns, tree, model, moved)
        assert branch_log_likelihood(cache, b, new) == pytest.approx(expected, rel=1e-12, abs=0)
