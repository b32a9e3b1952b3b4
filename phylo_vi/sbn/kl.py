"""KL divergence from a reference topology distribution to a fitted model, and golden-run pooling.

Convention of Zhang & Matsen (NeurIPS 2018, §5; ``zcrabbit/sbn:models.py`` ``SBN.kl_div``):

    KL(p ‖ q) = Σ_T p(T) log p(T) − Σ_T p(T) log max(q(T), ε),   ε = 2.22e-16 (float64 eps),

summed over the reference topologies only. ``covered_mass`` = Σ p(T) over the reference
topologies with q(T) > 0 (the part of the reference the model can reach).

Ground truth from MrBayes golden runs (``zcrabbit/sbn:utils.py:summary``): each replicate's
``[&W]`` frequency becomes a count round(w × 750001) (750001 kept samples per replicate), the
counts are summed per topology over replicates and divided by (replicates × 750001).

The reference must be a probability distribution: its weights must sum to 1 within
``5e-7 + 0.5 / 750001`` per topology (the rounding of MrBayes' six-decimal ``[&W]`` values and of
the golden-run counts; the ten DS1 golden runs sum to 0.99988–0.99991 over ~1,200 topologies
each). A reference that does not, such as an
MCMC sample or a Newick list (every weight 1) or a truncated credible set, is normalised to
sum 1 with a :class:`ReferenceNormalizedWarning` naming its total, so that identical reference
and training samples give KL 0.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from phylo_vi.errors import EmptyInputError, PhyloVIError
from phylo_vi.sbn.base import TreeDistribution
from phylo_vi.sbn.edges import EdgeTables, unrooted_edge_tables
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.trees.taxa import common_namespace
from phylo_vi.trees.tree import Tree

EPSILON = float(np.finfo(np.float64).eps)
GOLDEN_RUN_SAMPLES = 750_001
ROUNDING_PER_TOPOLOGY = 5e-7 + 0.5 / GOLDEN_RUN_SAMPLES  # six-decimal [&W], then round(w × 750001) / 750001


class ReferenceNormalizedWarning(UserWarning):
    """A reference topology distribution did not sum to 1 and was normalised (module docstring)."""


def as_distribution(weights: np.ndarray, what: str = "the reference") -> np.ndarray:
    """``weights`` as probabilities: unchanged when they sum to 1 within the rounding of six-decimal
    ``[&W]`` values, else divided by their sum with a :class:`ReferenceNormalizedWarning`."""
    weights = np.asarray(weights, dtype=np.float64)
    if np.any(~np.isfinite(weights)) or np.any(weights < 0):
        raise PhyloVIError(f"{what}: probabilities must be finite and non-negative")
    total = float(weights.sum())
    if not total > 0:
        raise PhyloVIError(f"{what}: the probabilities sum to 0")
    if abs(total - 1.0) <= ROUNDING_PER_TOPOLOGY * len(weights):
        return weights
    warnings.warn(f"{what} is not a probability distribution (its {len(weights)} weights sum to {total:.6g}); "
                  "normalised to sum 1", ReferenceNormalizedWarning, stacklevel=3)
    return weights / total


@dataclass(frozen=True)
class KLResult:
    """KL(p_ref ‖ q) in nats and the reference mass that q covers."""

    kl: float
    covered_mass: float


def kl_divergence(model: TreeDistribution, trees: Sequence[Tree] | TreeArrays | EdgeTables,
                  weights: Sequence[float] | None = None) -> KLResult:
    """KL(p ‖ q) of a fitted model q to the reference distribution p on ``trees``.

    ``weights`` (default: each tree's ``weight``) are the reference probabilities (repeated
    topologies are merged by summing them), normalised with a warning when they do not sum to 1;
    see the module docstring for the formula.
    """
    if len(trees) == 0 if not isinstance(trees, EdgeTables) else trees.n_trees == 0:
        raise EmptyInputError("no reference trees given")
    tables = unrooted_edge_tables(trees, weights, normalize=False)
    p = as_distribution(tables.weights)
    log_q = model.log_prob(tables)
    positive = p > 0
    entropy_term = float(np.sum(p[positive] * np.log(p[positive])))
    cross_term = float(np.sum(p * np.maximum(log_q, np.log(EPSILON))))
    return KLResult(kl=entropy_term - cross_term, covered_mass=float(p[np.isfinite(log_q)].sum()))


def pooled_golden_run(replicates: Sequence[Sequence[Tree] | TreeArrays],
                      n_samples: int = GOLDEN_RUN_SAMPLES) -> tuple[TreeArrays, np.ndarray]:
    """Pool MrBayes ``.trprobs`` replicates into one reference distribution (module docstring).

    Each replicate (a list of trees, or :class:`TreeArrays`) holds its ``[&W]`` frequencies as
    the trees' weights; a replicate whose weights do not sum to 1 (an MCMC sample, a Newick
    list) is normalised first, with a warning. Returns the distinct topologies and their pooled
    probabilities.
    """
    if not replicates or any(len(replicate) == 0 for replicate in replicates):
        raise EmptyInputError("every golden-run replicate must hold at least one tree")
    arrays = [r if isinstance(r, TreeArrays) else TreeArrays.from_trees(r, n_nodes=2 * len(r[0].taxa) - 2)
              for r in replicates]
    taxa = common_namespace(arrays, what="golden-run replicates")
    if len({a.parent.shape[1] for a in arrays}) > 1:
        raise PhyloVIError("golden-run replicates must be binary unrooted trees on one taxon namespace")
    frequencies = [as_distribution(a.weights, f"golden-run replicate {k + 1}") for k, a in enumerate(arrays)]
    pooled = TreeArrays(np.concatenate([a.parent for a in arrays]), np.concatenate([a.taxon for a in arrays]),
                        np.floor(np.concatenate(frequencies) * n_samples + 0.5), taxa)
    tables = unrooted_edge_tables(pooled, normalize=False)
    return tables.arrays, tables.weights / (len(replicates) * n_samples)
