r"""A smoothed topology posterior: the SBN-EM-α fit of the sample and its held-out check.

The subsplit Bayesian network (Zhang & Matsen 2018, NeurIPS, §4; EM over the unobserved root with
a Dirichlet(α) regulariser, α = 1e-4 as in the paper, from the simple-average start, at most 30
iterations) fitted to the sampled topologies (weights:
their counts) gives a probability to every topology built from the sampled subsplits, including
topologies the chains never visited; ``mass_unsampled`` = 1 − Σ over sampled topologies.

**Held-out check** (two runs or more): fit on run 1, score the trees of run 2. The sample relative
frequency (SRF) of run 1 gives probability 0 to every run-2 topology it never saw
(``unseen_srf``: the fraction of run 2's trees); the SBN gives 0 only to topologies with a subsplit
absent from run 1 (``unseen_sbn``). On the run-2 trees both can score, ``held_out_sbn`` and
``held_out_srf`` are their mean log probabilities (higher is better).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from phylo_vi.sbn.methods import DEFAULT_ALPHA
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.trees.tree import Tree

MAX_EM_ITERATIONS = 30  # a cap on run time (each EM iteration scores every distinct topology once)


@dataclass(frozen=True)
class TopologyModel:
    """SBN probabilities of the sampled topologies (in the sample's order) and the held-out scores."""

    probabilities: np.ndarray
    mass_unsampled: float
    held_out_sbn: float
    held_out_srf: float
    unseen_srf: float
    unseen_sbn: float


def _trees(topologies, rows: np.ndarray, weights: np.ndarray) -> list[Tree]:
    trees = []
    for rank, weight in zip(rows, weights):
        parent, taxon, _ = topologies.shapes[rank]
        trees.append(Tree(parent, np.full(len(parent), np.nan), taxon, topologies.taxa, rooted=False,
                          weight=float(weight)))
    return trees


def fit_topology_model(topologies, run_counts: np.ndarray, alpha: float = DEFAULT_ALPHA) -> TopologyModel:
    """SBN-EM-α on the pooled sample, and the run-1 → run-2 held-out check (module docstring)."""
    everything = np.arange(topologies.n_topologies)
    trees = _trees(topologies, everything, topologies.weights)
    model = SubsplitBayesianNetwork(method="em", alpha=alpha, max_iter=MAX_EM_ITERATIONS, min_iter=0).fit(trees)
    probabilities = np.exp(model.log_prob(trees))
    held_out_sbn = held_out_srf = unseen_srf = unseen_sbn = math.nan
    if run_counts.shape[1] > 1:
        in_first = np.flatnonzero(run_counts[:, 0] > 0)
        in_second = np.flatnonzero(run_counts[:, 1] > 0)
        first = SubsplitBayesianNetwork(method="em", alpha=alpha, max_iter=MAX_EM_ITERATIONS, min_iter=0).fit(
            _trees(topologies, in_first, run_counts[in_first, 0]))
        weights = run_counts[in_second, 1] / run_counts[:, 1].sum()
        log_sbn = first.log_prob(_trees(topologies, in_second, run_counts[in_second, 1]))
        srf = run_counts[in_second, 0] / run_counts[:, 0].sum()
        both = (srf > 0) & np.isfinite(log_sbn)
        scored = weights[both] / weights[both].sum()
        held_out_sbn = float(np.sum(scored * log_sbn[both]))
        held_out_srf = float(np.sum(scored * np.log(srf[both])))
        unseen_srf = float(np.sum(weights[srf == 0]))
        unseen_sbn = float(np.sum(weights[~np.isfinite(log_sbn)]))
    return TopologyModel(probabilities, float(max(0.0, 1.0 - probabilities.sum())), held_out_sbn, held_out_srf,
                         unseen_srf, unseen_sbn)
