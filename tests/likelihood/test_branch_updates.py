"""Single-branch updates (MCMC cache) against full pruning, and the vectorised logarithm.

Reference for every likelihood here: the engine's full post-order evaluation
(``plan_log_likelihood``), itself checked against IQ-TREE, BEAGLE and NumPy in
test_reference_values.py and against an unscaled NumPy pruning in test_scaling.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.alignment import SitePatterns
from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.likelihood.branch_updates import (LOWER_SCALED, accept_branch, branch_log_likelihood,
                                                build_branch_cache, cached_log_likelihood, reset_branch_lengths)
from phylo_vi.likelihood.fast_log import weighted_log_sum
from phylo_vi.likelihood.kernels import plan_log_likelihood

GTR_GI = "GTR{0.73,1.11,0.65,1.88,3.33}+F{0.234,0.257,0.28,0.229}+G4{0.11}+I{0.2}"


def random_walk_errors(lik, start, rng, n_steps=400, accept_rate=0.3):
    """Largest |cache - full| / |full| over random single-branch proposals, some accepted."""
    cache = build_branch_cache(lik.plan, start)
    lengths = start.copy()
    worst = abs(cached_log_likelihood(cache) - plan_log_likelihood(lik.plan, lengths)) / abs(
        plan_log_likelihood(lik.plan, lengths))
    for _ in range(n_steps):
        branch = int(rng.integers(len(lengths)))
        proposal = lengths[branch] * rng.uniform(0.3, 3.0)
        value = branch_log_likelihood(cache, branch, proposal)
        moved = lengths.copy()
        moved[branch] = proposal
        full = plan_log_likelihood(lik.plan, moved)
        worst = max(worst, abs(value - full) / abs(full))
        if rng.random() < accept_rate:
            accept_branch(cache, branch, proposal)
            lengths = moved
    return worst, cache, lengths


@pytest.fixture(scope="module")
def ds1_tree(reference_dir):
    tree = next(iter(read_newick(reference_dir / "DS1_treeA_mapJC.nwk")))
    return tree.unroot() if tree.rooted else tree


@pytest.mark.parametrize("model", ["JC", GTR_GI])
def test_single_branch_updates_equal_full_pruning_on_ds1(ds1_patterns, ds1_tree, model):
    lik = TreeLikelihood(ds1_patterns, ds1_tree, model)
    worst, cache, lengths = random_walk_errors(lik, ds1_tree.branch_length[:-1].copy(), np.random.default_rng(3))
    assert worst < 1e-13
    np.testing.assert_array_equal(cache.branch_lengths, lengths)


def test_reset_moves_the_cache_to_new_lengths(ds1_patterns, ds1_tree):
    lik = TreeLikelihood(ds1_patterns, ds1_tree, "JC")
    cache = build_branch_cache(lik.plan, ds1_tree.branch_length[:-1].copy())
    other = np.random.default_rng(5).uniform(0.01, 0.2, size=ds1_tree.n_nodes - 1)
    reset_branch_lengths(cache, other)
    assert cached_log_likelihood(cache) == pytest.approx(plan_log_likelihood(lik.plan, other), rel=1e-13)


@pytest.mark.parametrize("model", ["JC", "JC+I{0.3}"])
def test_single_branch_updates_under_underflow(model):
    # 800 taxa, branches of length 1-3: variable sites have likelihoods near e^-850, below the
    # smallest double, so partials must be rescaled; reference: the engine's scaled pruning
    from phylo_vi.trees import TaxonNamespace
    from phylo_vi.io.newick import parse_newick

    rng = np.random.default_rng(11)
    clades = [f"t{i}:{rng.uniform(1.0, 3.0)!r}" for i in range(800)]
    while len(clades) > 3:
        i, j = sorted(rng.choice(len(clades), 2, replace=False))
        joined = f"({clades[i]},{clades[j]}):{rng.uniform(1.0, 3.0)!r}"
        clades = [c for k, c in enumerate(clades) if k not in (i, j)] + [joined]
    tree = parse_newick("(" + ",".join(clades) + ");", TaxonNamespace())
    constant = np.repeat(np.array([[1, 2, 4, 8]], dtype=np.uint8), 800, axis=0)
    variable = rng.choice(np.array([1, 2, 4, 8, 15, 5], dtype=np.uint8), size=(800, 8))
    codes = np.concatenate([constant, variable], axis=1)
    patterns = SitePatterns(tree.taxa, codes, rng.integers(1, 4, codes.shape[1]).astype(float))
    lik = TreeLikelihood(patterns, tree, model)
    start = tree.branch_length[:-1].copy()
    assert np.isfinite(plan_log_likelihood(lik.plan, start))
    assert lik.pattern_log_likelihoods(start).min() < -745     # exp() of it underflows to 0
    worst, cache, _ = random_walk_errors(lik, start, np.random.default_rng(4), n_steps=150)
    assert worst < 1e-12
    assert cache.valid[LOWER_SCALED].any()       # some partial carries a scaling count


def test_weighted_log_sum_matches_math_log():
    # reference: libm's log through math.log, summed in extended precision by math.fsum
    rng = np.random.default_rng(0)
    values = np.concatenate([np.exp(rng.uniform(-700.0, 700.0, 5000)), 1.0 + rng.uniform(-1e-6, 1e-6, 1000),
                             [1.0, 2.0, 0.5, math.sqrt(2.0), math.nextafter(math.sqrt(2.0), 2.0),
                              2.2250738585072014e-308, 1.7976931348623157e308]])
    weights = rng.integers(1, 50, len(values)).astype(float)
    work = np.empty((2, len(values)))
    ours = weighted_log_sum(values, weights, work[0], work[1])
    exact = math.fsum(w * math.log(x) for w, x in zip(weights, values))
    assert ours == pytest.approx(exact, rel=1e-15, abs=1e-9)
    for x in values[-7:]:
        one = weighted_log_sum(np.array([x]), np.ones(1), np.empty(1), np.empty(1))
        assert one == pytest.approx(math.log(x), rel=2e-16, abs=3e-16)
