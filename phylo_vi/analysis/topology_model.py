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
``held_out_srf`` are their mean log probabilities (higher is better); NaN when there are none (runs
that share no topology, as in a diffuse posterior).

**Standard error of the SBN odds** (:func:`sbn_odds_bootstrap`): a moving-block bootstrap of each run's
sequence of topologies (Künsch 1989, Ann. Stat. 17:1217), blocks of ``ceil(n_r / ESS_r)`` trees (ESS: the
run's approximate topological ESS, so that a block spans about one autocorrelation time; 1 when unknown),
as many blocks as fill the run; each replicate's topology counts are refitted by SBN-EM-α (same
settings) and scored on the K topologies; the standard error of :math:`\log(q_i / q_1)` is the standard
deviation over the replicates with finite odds (Efron & Tibshirani 1993, §6.2, eq. 6.6).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from phylo_vi.sbn.methods import DEFAULT_ALPHA
from phylo_vi.sbn.unrooted import SubsplitBayesianNetwork
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.tree import Tree
from phylo_vi.util.tasks import Tasks

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


def _trees(topologies, rows: np.ndarray, weights: np.ndarray) -> TreeArrays | list[Tree]:
    """The topologies at ``rows`` with ``weights``, unrooted: stacked arrays when every tree has a trifurcating
    root (no Python object per tree; int16 below 2**14 taxa, the SBN fit keeps the parent arrays), else
    :class:`Tree` objects (unrooted by the SBN)."""
    shapes = [topologies.shapes[rank] for rank in rows]
    n_nodes = 2 * len(topologies.taxa) - 2
    if all(len(parent) == n_nodes for parent, _, _ in shapes):
        dtype = np.int16 if n_nodes <= np.iinfo(np.int16).max else np.int32
        return TreeArrays(np.stack([parent for parent, _, _ in shapes], dtype=dtype),
                          np.stack([taxon for _, taxon, _ in shapes], dtype=dtype),
                          np.asarray(weights, dtype=np.float64), topologies.taxa)
    return [Tree(parent, np.full(len(parent), np.nan), taxon, topologies.taxa, rooted=False, weight=float(weight))
            for (parent, taxon, _), weight in zip(shapes, weights)]


def fit_topology_model(topologies, run_counts: np.ndarray, alpha: float = DEFAULT_ALPHA,
                       tasks: Tasks | None = None) -> TopologyModel:
    """SBN-EM-α on the pooled sample, and the run-1 → run-2 held-out check (module docstring)."""
    return start_topology_model(topologies, run_counts, tasks if tasks is not None else Tasks(1), alpha)()


def start_topology_model(topologies, run_counts: np.ndarray, tasks: Tasks,
                         alpha: float = DEFAULT_ALPHA) -> Callable[[], TopologyModel]:
    """Submit the pooled fit and the held-out fit of :func:`fit_topology_model` to ``tasks`` (side by side
    with more than one thread; each fit is the same whatever runs beside it); the function returned waits
    for both and gives the model."""
    pooled = tasks.submit(_pooled_probabilities, topologies, alpha)
    held_out = tasks.submit(_held_out_scores, topologies, run_counts, alpha) if run_counts.shape[1] > 1 else None

    def finish() -> TopologyModel:
        probabilities = tasks.result(pooled)
        scores = tasks.result(held_out) if held_out is not None else (math.nan,) * 4
        return TopologyModel(probabilities, float(max(0.0, 1.0 - probabilities.sum())), *scores)

    return finish


def _pooled_probabilities(topologies, alpha: float) -> np.ndarray:
    """SBN-EM-α fitted to all sampled topologies (weights: their counts): the probability of each."""
    trees = _trees(topologies, np.arange(topologies.n_topologies), topologies.weights)
    model = SubsplitBayesianNetwork(method="em", alpha=alpha, max_iter=MAX_EM_ITERATIONS, min_iter=0)
    return np.exp(model.fit_log_prob(trees))


def _held_out_scores(topologies, run_counts: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """Fit on run 1, score run 2: ``held_out_sbn``, ``held_out_srf``, ``unseen_srf``, ``unseen_sbn``."""
    in_first = np.flatnonzero(run_counts[:, 0] > 0)
    in_second = np.flatnonzero(run_counts[:, 1] > 0)
    first = SubsplitBayesianNetwork(method="em", alpha=alpha, max_iter=MAX_EM_ITERATIONS, min_iter=0).fit(
        _trees(topologies, in_first, run_counts[in_first, 0]))
    weights = run_counts[in_second, 1] / run_counts[:, 1].sum()
    log_sbn = first.log_prob(_trees(topologies, in_second, run_counts[in_second, 1]))
    srf = run_counts[in_second, 0] / run_counts[:, 0].sum()
    both = (srf > 0) & np.isfinite(log_sbn)
    unseen = float(np.sum(weights[srf == 0])), float(np.sum(weights[~np.isfinite(log_sbn)]))
    if not np.any(both):
        return math.nan, math.nan, *unseen
    scored = weights[both] / weights[both].sum()
    return float(np.sum(scored * log_sbn[both])), float(np.sum(scored * np.log(srf[both]))), *unseen


def _fit(topologies, weights: np.ndarray, alpha: float) -> SubsplitBayesianNetwork:
    rows = np.flatnonzero(weights > 0)
    return SubsplitBayesianNetwork(method="em", alpha=alpha, max_iter=MAX_EM_ITERATIONS, min_iter=0).fit(
        _trees(topologies, rows, weights[rows]))


def block_bootstrap_counts(tree_topologies: Sequence[np.ndarray], block_lengths: Sequence[int], n_topologies: int,
                           rng: np.random.Generator) -> np.ndarray:
    """Topology counts of one moving-block bootstrap replicate of every run, summed (module docstring)."""
    counts = np.zeros(n_topologies)
    for sequence, length in zip(tree_topologies, block_lengths):
        n = len(sequence)
        length = int(min(max(1, length), n))
        starts = rng.integers(0, n - length + 1, size=-(-n // length))
        picked = (starts[:, None] + np.arange(length)).ravel()[:n]
        counts += np.bincount(sequence[picked], minlength=n_topologies)
    return counts


def sbn_odds_bootstrap(topologies, tree_topologies: Sequence[np.ndarray], block_lengths: Sequence[int], k: int,
                       replicates: int, seed: int = 0, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """Standard errors of the SBN log odds log(q_i / q_1), i = 1..``k`` (0 for i = 1; NaN with fewer than
    two replicates giving finite odds). ``tree_topologies[r]``: run r's topology index (in the order of
    ``topologies``) for each kept tree."""
    rng = np.random.default_rng(seed)
    scored = _trees(topologies, np.arange(k), np.ones(k))
    odds = []
    for _ in range(replicates):
        weights = block_bootstrap_counts(tree_topologies, block_lengths, topologies.n_topologies, rng)
        log_q = _fit(topologies, weights, alpha).log_prob(scored)
        odds.append(log_q - log_q[0])
    odds = np.array(odds).reshape(replicates, k)
    finite = np.all(np.isfinite(odds), axis=1)
    if np.count_nonzero(finite) < 2:
        return np.full(k, np.nan)
    return odds[finite].std(axis=0, ddof=1)
