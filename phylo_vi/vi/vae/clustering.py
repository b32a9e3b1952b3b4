"""Adjusted Rand index of two partitions (Hubert & Arabie 1985, eq. 5).

``ARI = (sum_ij C(n_ij, 2) - E) / (½ [sum_i C(a_i, 2) + sum_j C(b_j, 2)] - E)`` with
``E = sum_i C(a_i, 2) sum_j C(b_j, 2) / C(n, 2)``, where ``n_ij`` is the contingency table of
the two labelings and ``a``, ``b`` its margins. 1 means identical partitions (up to relabelling),
0 the agreement expected by chance.

References
----------
1. Hubert, L. & Arabie, P. (1985). Comparing partitions. Journal of Classification 2:193.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import PhyloVIError

__all__ = ["adjusted_rand_index"]


def _pairs(counts: np.ndarray) -> float:
    return float((counts * (counts - 1) / 2).sum())


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """ARI of two labelings of the same items (any hashable labels)."""
    a = np.asarray(labels_true)
    b = np.asarray(labels_pred)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise PhyloVIError("adjusted_rand_index needs two non-empty labelings of equal length")
    _, a_codes = np.unique(a, return_inverse=True)
    _, b_codes = np.unique(b, return_inverse=True)
    table = np.zeros((a_codes.max() + 1, b_codes.max() + 1))
    np.add.at(table, (a_codes, b_codes), 1)
    index = _pairs(table)
    rows, columns = _pairs(table.sum(1)), _pairs(table.sum(0))
    expected = rows * columns / _pairs(np.array([a.size])) if a.size > 1 else 0.0
    maximum = 0.5 * (rows + columns)
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
