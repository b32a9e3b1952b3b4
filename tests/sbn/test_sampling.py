"""``sample()`` agrees with ``log_prob()`` (Pearson chi-square goodness of fit, as Pyro's tests).

Reference: the exact probabilities of all 105 unrooted 6-taxon topologies (and 105 rooted 5-taxon ones)
from ``log_prob``; draws are binned by topology and compared with scipy.stats.chisquare.
Seeds are fixed, so the tests are deterministic; the threshold p > 1e-3 guards against a
wrong sampler, which gives p ≈ 0 at these sample sizes.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from phylo_vi.io.newick import format_newick
from phylo_vi.sbn import (ConditionalCladeDistribution, RootedSubsplitBayesianNetwork, SampleRelativeFrequency,
                          SubsplitBayesianNetwork)
from phylo_vi.sbn.edges import split_set_keys, unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays

from .enumeration import all_rooted_trees, all_unrooted_trees

N_DRAWS = 20_000


def _chi_square(probabilities: np.ndarray, counts: np.ndarray) -> float:
    expected = probabilities * counts.sum()
    big = expected >= 5
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], expected[~big].sum())
    keep = expected > 0
    return stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()).pvalue


def _rooted_keys(trees) -> list[bytes]:
    """Topology keys of rooted trees (equal exactly for equal rooted topologies)."""
    if isinstance(trees, TreeArrays):
        trees = [trees.tree(i) for i in range(len(trees))]
    return [tree.topology_key() for tree in trees]


def _unrooted_counts(space, draws) -> np.ndarray:
    index = {key: i for i, key in enumerate(split_set_keys(unrooted_edge_tables(space, np.ones(len(space)),
                                                                               normalize=False, deduplicate=False)))}
    keys = split_set_keys(unrooted_edge_tables(draws, np.ones(len(draws)), normalize=False, deduplicate=False))
    return np.bincount([index[key] for key in keys], minlength=len(space))


@pytest.mark.parametrize("make", [lambda: SubsplitBayesianNetwork(method="em", max_iter=20),
                                  lambda: SubsplitBayesianNetwork(method="sa"), ConditionalCladeDistribution,
                                  SampleRelativeFrequency], ids=["em", "sa", "ccd", "srf"])
def test_unrooted_sample_matches_log_prob(make):
    taxa, space = all_unrooted_trees(6)
    rng = np.random.default_rng(5)
    picks = rng.choice(len(space), size=30, replace=False)
    model = make().fit([space[i] for i in picks], rng.dirichlet(np.ones(30)))
    draws = model.sample_arrays(N_DRAWS, random_state=2024)
    assert all(not tree.rooted and tree.n_children[tree.root] == 3 for tree in model.sample(50, random_state=1))
    counts = _unrooted_counts(space, draws)
    probabilities = np.exp(model.log_prob(space))
    assert counts[probabilities == 0].sum() == 0
    assert _chi_square(probabilities, counts) > 1e-3


def test_rooted_sample_matches_log_prob():
    taxa, space = all_rooted_trees(5)
    rng = np.random.default_rng(9)
    picks = rng.choice(len(space), size=40, replace=False)
    model = RootedSubsplitBayesianNetwork().fit([space[i] for i in picks], rng.dirichlet(np.ones(40)))
    index = {key: i for i, key in enumerate(_rooted_keys(space))}
    draws = model.sample_arrays(N_DRAWS, random_state=7)
    counts = np.bincount([index[key] for key in _rooted_keys(draws)], minlength=len(space))
    assert _chi_square(np.exp(model.log_prob(space)), counts) > 1e-3


def test_same_seed_same_draws_and_mode_is_the_maximum():
    taxa, space = all_unrooted_trees(6)
    model = SubsplitBayesianNetwork(method="em", max_iter=10).fit(space[:20], np.arange(1, 21))
    first = [format_newick(t, lengths=False) for t in model.sample(50, random_state=3)]
    second = [format_newick(t, lengths=False) for t in model.sample(50, random_state=3)]
    assert first == second
    tree, log_q = model.most_probable_tree(random_state=0)
    assert log_q == pytest.approx(model.log_prob(space).max(), abs=1e-12)  # brute force over all 105
    trees, log_probs, mass = model.credible_set(0.5, n_samples=5000, random_state=1)
    exact = np.sort(np.exp(model.log_prob(space)))[::-1]
    assert len(trees) == np.searchsorted(np.cumsum(exact), 0.5) + 1  # smallest set reaching 50 %
    assert mass == pytest.approx(np.cumsum(exact)[len(trees) - 1], abs=1e-12)
