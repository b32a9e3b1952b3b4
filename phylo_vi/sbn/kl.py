"""KL divergence from a reference topology distribution to a fitted model, and golden-run pooling.

Convention of Zhang & Matsen (NeurIPS 2018, §5; ``zcrabbit/sbn:models.py`` ``SBN.kl_div``):

    KL(p ‖ q) = Σ_T p(T) log p(T) − Σ_T p(T) log max(q(T), ε),   ε = 2.22e-16 (float64 eps),

summed over the reference topologies only. ``covered_mass`` = Σ p(T) over the reference
topologies with q(T) > 0 (the part of the reference the model can reach).

Ground truth from MrBayes golden runs (``zcrabbit/sbn:utils.py:summary``): each replicate's
``[&W]`` frequency becomes a count round(w × 750001) (750001 kept samples per replicate), the
counts are summed per topology over replicates and divided by (replicates × 750001).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.edges import EdgeTables, unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.tree import Tree

EPSILON = float(np.finfo(np.float64).eps)
GOLDEN_RUN_SAMPLES = 750_001


@dataclass(frozen=True)
class KLResult:
    """KL(p_ref ‖ q) in nats and the reference mass that q covers."""

    kl: float
    covered_mass: float


def kl_divergence(model: TreeDistribution, trees: Sequence[Tree] | TreeArrays | EdgeTables,
                  weights: Sequence[float] | None = None) -> KLResult:
    """KL(p ‖ q) of a fitted model q to the reference distribution p on ``trees``.

    ``weights`` (default: each tree's ``weight``) are the reference probabilities, used as given
    (repeated topologies are merged by summing them); see the module docstring for the formula.
    """
    if len(trees) == 0 if not isinstance(trees, EdgeTables) else trees.n_trees == 0:
        raise EmptyInputError("no reference trees given")
    tables = unrooted_edge_tables(trees, weights, normalize=False)
    p = tables.weights
    if np.any(p < 0):
        raise PhyloVIError("reference probabilities must be non-negative")
    log_q = model.log_prob(tables)
    positive = p > 0
    entropy_term = float(np.sum(p[positive] * np.log(p[positive])))
    cross_term = float(np.sum(p * np.maximum(log_q, np.log(EPSILON))))
    return KLResult(kl=entropy_term - cross_term, covered_mass=float(p[np.isfinite(log_q)].sum()))


def pooled_golden_run(replicates: Sequence[Sequence[Tree] | TreeArrays],
                      n_samples: int = GOLDEN_RUN_SAMPLES) -> tuple[TreeArrays, np.ndarray]:
    """Pool MrBayes ``.trprobs`` replicates into one reference distribution (module docstring).

    Each replicate (a list of trees, or :class:`TreeArrays`) holds its ``[&W]`` frequencies as
    the trees' weights. Returns the distinct topologies and their pooled probabilities.
    """
    if not replicates or any(len(replicate) == 0 for replicate in replicates):
        raise EmptyInputError("every golden-run replicate must hold at least one tree")
    arrays = [r if isinstance(r, TreeArrays) else TreeArrays.from_trees(r, n_nodes=2 * len(r[0].taxa) - 2)
              for r in replicates]
    if len({a.parent.shape[1] for a in arrays}) > 1 or any(a.taxa != arrays[0].taxa for a in arrays):
        raise PhyloVIError("golden-run replicates must be binary unrooted trees on one taxon namespace")
    pooled = TreeArrays(np.concatenate([a.parent for a in arrays]), np.concatenate([a.taxon for a in arrays]),
                        np.floor(np.concatenate([a.weights for a in arrays]) * n_samples + 0.5), arrays[0].taxa)
    tables = unrooted_edge_tables(pooled, normalize=False)
    return tables.arrays, tables.weights / (len(replicates) * n_samples)
