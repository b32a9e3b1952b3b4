"""Accuracy of an implied topology posterior against a reference (Fourment et al. 2020, DS.Rmd).

With a uniform topology prior, the marginal likelihoods of the evaluated topologies imply the
posterior Q_t = exp(log Z_t − LSE(log Z)); the reference P_t is the sample relative frequency
(SRF) of long MrBayes "golden runs", renormalised over the same topologies. Metrics:

- KL(P‖Q) = Σ_t P_t (log P_t − log Q_t);
- Hellinger distance sqrt(Σ (√P − √Q)²) / √2;
- split RMSD: for every split of the evaluated trees, f = Σ_{t ∋ split} P_t and f̂ likewise
  with Q; RMSD = sqrt(mean (f − f̂)²). As in the paper (``ape::prop.part``), the split list
  includes the all-taxa clade (f = f̂ = 1) unless ``include_root_clade`` is False.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.special import logsumexp

from phylo_vi.errors import PhyloVIError
from phylo_vi.trees import Tree


def implied_posterior(log_marginals: np.ndarray) -> np.ndarray:
    """softmax of ``log_marginals`` (uniform topology prior)."""
    log_marginals = np.asarray(log_marginals, dtype=np.float64)
    return np.exp(log_marginals - logsumexp(log_marginals))


def _normalise(reference: np.ndarray) -> np.ndarray:
    reference = np.asarray(reference, dtype=np.float64)
    if reference.ndim != 1 or np.any(reference < 0) or not reference.sum() > 0:
        raise PhyloVIError("the reference topology posterior must be non-negative with a positive sum")
    return reference / reference.sum()


def kl_divergence(reference: np.ndarray, log_marginals: np.ndarray) -> float:
    """KL(P‖Q) with P the renormalised reference and Q the implied posterior."""
    p = _normalise(reference)
    log_q = np.asarray(log_marginals, dtype=np.float64) - logsumexp(log_marginals)
    keep = p > 0
    return float(np.sum(p[keep] * (np.log(p[keep]) - log_q[keep])))


def hellinger_distance(reference: np.ndarray, log_marginals: np.ndarray) -> float:
    """sqrt(Σ(√P − √Q)²)/√2."""
    p = _normalise(reference)
    q = implied_posterior(log_marginals)
    return float(math.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / math.sqrt(2.0))


def split_membership(trees: Sequence[Tree]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct nontrivial splits of ``trees`` and a (n_trees, n_splits) bool membership matrix."""
    per_tree = [tree.splits() for tree in trees]
    keys: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    for splits in per_tree:
        for split in splits:
            key = split.tobytes()
            if key not in keys:
                keys[key] = len(keys)
                rows.append(split)
    membership = np.zeros((len(trees), len(keys)), dtype=bool)
    for t, splits in enumerate(per_tree):
        membership[t, [keys[split.tobytes()] for split in splits]] = True
    split_array = np.array(rows) if rows else np.zeros((0, 1), dtype=np.uint64)
    return split_array, membership


def split_probabilities(membership: np.ndarray, topology_probabilities: np.ndarray) -> np.ndarray:
    """Posterior probability of every split: Σ over the topologies that contain it."""
    return np.asarray(topology_probabilities, dtype=np.float64) @ membership


def split_rmsd(reference: np.ndarray, log_marginals: np.ndarray, membership: np.ndarray,
               include_root_clade: bool = True) -> float:
    """Root-mean-square difference of split probabilities (reference vs implied)."""
    p = split_probabilities(membership, _normalise(reference))
    q = split_probabilities(membership, implied_posterior(log_marginals))
    squared = (p - q) ** 2
    n = len(squared) + (1 if include_root_clade else 0)
    return float(math.sqrt(np.sum(squared) / n)) if n else 0.0
