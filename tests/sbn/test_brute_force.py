"""Normalisation by brute force: every model's probabilities over all topologies sum to 1.

Reference: exhaustive enumeration (tests/sbn/enumeration.py) of the (2n − 5)!! = 945 unrooted
7-taxon and 10,395 unrooted 8-taxon topologies, and the 10,395 rooted 7-taxon topologies.
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.sbn import (ConditionalCladeDistribution, RootedSubsplitBayesianNetwork, SampleRelativeFrequency,
                          SubsplitBayesianNetwork)

from .enumeration import all_rooted_trees, all_unrooted_trees

MODELS = {
    "srf": SampleRelativeFrequency,
    "ccd": ConditionalCladeDistribution,
    "sa": lambda: SubsplitBayesianNetwork(method="sa"),
    "em": lambda: SubsplitBayesianNetwork(method="em", max_iter=30),
    "em-alpha": lambda: SubsplitBayesianNetwork(method="em", alpha=0.05, max_iter=30),
}


@pytest.fixture(scope="module", params=[7, 8])
def unrooted_space(request):
    taxa, trees = all_unrooted_trees(request.param)
    assert len(trees) == {7: 945, 8: 10395}[request.param]  # (2n - 5)!!
    return trees


@pytest.mark.parametrize("name", MODELS)
def test_unrooted_probabilities_sum_to_one(unrooted_space, name):
    rng = np.random.default_rng(7)
    picks = rng.choice(len(unrooted_space), size=60, replace=False)
    model = MODELS[name]().fit([unrooted_space[i] for i in picks], rng.dirichlet(np.full(60, 0.5)))
    probabilities = np.exp(model.log_prob(unrooted_space))
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-10)
    # the SBNs generalise beyond the sample (Zhang & Matsen 2018, §5): more topologies than SRF
    if name != "srf":
        assert np.count_nonzero(probabilities) > 60


def test_rooted_sbn_sums_to_one_over_all_rooted_trees():
    taxa, trees = all_rooted_trees(7)
    assert len(trees) == 10395  # (2n - 3)!! rooted topologies on 7 taxa
    rng = np.random.default_rng(3)
    picks = rng.choice(len(trees), size=80, replace=False)
    model = RootedSubsplitBayesianNetwork().fit([trees[i] for i in picks], rng.integers(1, 5, size=80))
    log_probs = model.log_prob(trees)
    assert np.exp(log_probs).sum() == pytest.approx(1.0, abs=1e-10)
    # the Viterbi tree is the exact mode: brute-force maximum over all 10,395 rooted trees
    _, mode = model.most_probable_tree(n_candidates=0)
    assert mode == pytest.approx(log_probs.max(), abs=1e-12)


def test_srf_is_minus_infinity_outside_its_sample_while_the_sbn_generalises():
    taxa, trees = all_unrooted_trees(7)
    sample = trees[:40]
    srf = SampleRelativeFrequency().fit(sample)
    sbn = SubsplitBayesianNetwork(method="sa").fit(sample)
    unseen = trees[40:]
    assert np.all(np.isneginf(srf.log_prob(unseen)))
    assert np.isfinite(sbn.log_prob(unseen)).any()
    assert srf.log_prob(sample) == pytest.approx(np.full(40, np.log(1 / 40)), rel=1e-12)
