"""q_φ(τ): softmax SBN probabilities, sampling and the log q gradient (expected-count backward)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from phylo_vi.vbpi.batch import topology_batch
from phylo_vi.vbpi.topology import SBNTopologyModel, sbn_log_prob, segment_log_softmax
from .five_taxa import random_logits


@pytest.fixture
def topology_model(five_taxa, full_support):
    model = SBNTopologyModel(full_support, five_taxa.taxa)
    random_logits(model, 3)
    return model


def test_segment_log_softmax_matches_per_parent_softmax():
    # reference: torch.log_softmax of each segment separately
    logits = torch.tensor([0.3, -1.0, 2.0, 0.5, 0.1, -0.7], dtype=torch.float64)
    segment = torch.tensor([0, 0, 1, 2, 2, 2])
    expected = torch.cat([torch.log_softmax(logits[:2], 0), torch.zeros(1), torch.log_softmax(logits[3:], 0)])
    assert torch.allclose(segment_log_softmax(logits, segment, 3), expected, atol=1e-15)


def test_probabilities_sum_to_one_over_all_15_topologies(five_taxa, topology_model):
    # enumeration: the 15 unrooted 5-taxon topologies are the whole space and lie in the full support
    batch = topology_batch(five_taxa.arrays(), topology_model.support)
    with torch.no_grad():
        log_q = topology_model.log_prob(batch)
    assert float(torch.logsumexp(log_q, 0)) == pytest.approx(0.0, abs=1e-12)


def test_uniform_cpds_at_the_start_sum_to_one_over_all_15_topologies(five_taxa, full_support):
    # φ = 0 (the VBPI start) gives uniform CPDs; unrooted probabilities still sum to 1 over the space
    model = SBNTopologyModel(full_support, five_taxa.taxa)
    with torch.no_grad():
        log_q = model.log_prob(topology_batch(five_taxa.arrays(), full_support))
    assert float(log_q.exp().sum()) == pytest.approx(1.0, abs=1e-12)


def test_samples_follow_log_prob(five_taxa, topology_model):
    # goodness of fit: 20,000 draws against exp(log_prob) over the 15 topologies (chi-square, 14 d.o.f.)
    batch = topology_batch(five_taxa.arrays(), topology_model.support)
    with torch.no_grad():
        expected = topology_model.log_prob(batch).exp().numpy()
    draws = topology_model.sample(20_000, np.random.default_rng(5))
    index = {key: i for i, key in enumerate(batch.topology_keys)}
    counts = np.bincount([index[key] for key in draws.topology_keys], minlength=15)
    statistic, p_value = stats.chisquare(counts, expected * 20_000)
    assert p_value > 1e-3


def test_log_prob_gradient_matches_finite_differences(five_taxa, topology_model):
    # d/dφ Σ_k c_k log q(τ_k) from the expected-count backward against central differences
    batch = topology_batch(five_taxa.arrays().subset(np.array([0, 4, 9, 14, 4])), topology_model.support)
    weights = torch.tensor([0.5, -1.0, 2.0, 0.3, 0.7], dtype=torch.float64)

    root = topology_model.root_logits.detach().clone().requires_grad_(True)
    pcsp = topology_model.pcsp_logits.detach().clone().requires_grad_(True)

    def weighted_log_q(root_logits, pcsp_logits):
        log_root = torch.log_softmax(root_logits, 0)
        log_cpd = segment_log_softmax(pcsp_logits, topology_model.pcsp_parent, topology_model.n_parents)
        return (weights * sbn_log_prob(log_root, log_cpd, batch)).sum()

    assert torch.autograd.gradcheck(weighted_log_q, (root, pcsp), eps=1e-6, atol=1e-7, rtol=1e-6)
