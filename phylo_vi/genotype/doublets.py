"""Doublet calling against a set of clone genotypes.

A droplet holding two cells reads the union (entrywise OR) of their genotypes (∞SCITE, Kuipers
et al. 2017, Genome Biol. 18:178, "Doublets"). With clone genotypes ``G`` (k x m), per-entry
gains ``d = log P(a'|1) - log P(a'|0)`` (the FP/FN model; missing entries give 0) and a doublet
rate ``delta``, a cell is called a doublet when its maximum a posteriori explanation is a pair:

    log delta - log C(k, 2) + max_{a<b} d · (G_a | G_b)
        >  log(1 - delta) - log k + max_a d · G_a,

i.e. a singlet is one of the ``k`` clones uniformly and a doublet one of the ``C(k, 2)`` clone
pairs uniformly (the observation terms common to both sides cancel, as in the gain form of
:mod:`.tree_search`).
"""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import PhyloVIError


def doublet_scores(cell_gain: np.ndarray, genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best pair log-gain per cell and the pair (indices into ``genotypes``), shapes (n,) and (n, 2).

    With fewer than two genotypes no pair exists: the scores are ``-inf`` and the pairs ``-1``.
    """
    k = genotypes.shape[0]
    n = cell_gain.shape[0]
    if k < 2:
        return np.full(n, -np.inf), np.full((n, 2), -1, dtype=np.int64)
    first, second = np.triu_indices(k, k=1)
    unions = (genotypes[first] | genotypes[second]).astype(np.float64)
    fit = cell_gain @ unions.T
    best = np.argmax(fit, axis=1)
    return fit[np.arange(n), best], np.stack([first[best], second[best]], axis=1)


def call_doublets(cell_gain: np.ndarray, genotypes: np.ndarray, doublet_rate: float) -> np.ndarray:
    """Boolean mask of the cells whose MAP explanation is a pair of ``genotypes`` (module formula)."""
    if not 0.0 < doublet_rate < 1.0:
        raise PhyloVIError(f"doublet_rate must be in (0, 1) to call doublets, got {doublet_rate}")
    k = genotypes.shape[0]
    if k < 2:
        return np.zeros(cell_gain.shape[0], dtype=bool)
    singlet = (cell_gain @ genotypes.T.astype(np.float64)).max(axis=1) + np.log1p(-doublet_rate) - np.log(k)
    pair, _ = doublet_scores(cell_gain, genotypes)
    doublet = pair + np.log(doublet_rate) - np.log(k * (k - 1) / 2)
    return doublet > singlet
