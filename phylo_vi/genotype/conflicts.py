"""Exact checks on genotype matrices: three-gamete conflicts and linear versus branching.

A 0/1 matrix with an all-zero root admits a rooted perfect phylogeny iff no column pair holds
all three of (1,1), (1,0) and (0,1) (the three-gamete / four-gamete test; Gusfield 1991,
Networks 21:19, Theorem 1). With the co-occurrence counts of Sadeqi Azer et al. (2020,
iScience 23:101655, "count3gametes")

    N11 = A^T A,   N10 = A^T (1 - A),   N01 = (1 - A)^T A,

columns p < q conflict iff N11 > 0, N10 > 0 and N01 > 0 (missing entries count in no term).
A conflict-free matrix is *linear* (a chain of clones) iff no two non-empty columns have
disjoint supports; otherwise it branches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import InvalidParameterError
from phylo_vi.genotype.matrix import MISSING, check_matrix


def _pair_counts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = check_matrix(matrix)
    ones = (values == 1).astype(np.float64)
    zeros = (values == 0).astype(np.float64)
    return ones.T @ ones, ones.T @ zeros, zeros.T @ ones


def conflicting_pairs(matrix: np.ndarray) -> np.ndarray:
    """Column pairs (p, q), p < q, violating the three-gamete rule; shape (k, 2), int64."""
    n11, n10, n01 = _pair_counts(matrix)
    conflict = np.triu((n11 > 0) & (n10 > 0) & (n01 > 0), k=1)
    return np.argwhere(conflict)


def is_conflict_free(matrix: np.ndarray) -> bool:
    """True when no column pair violates the three-gamete rule (missing entries ignored)."""
    return len(conflicting_pairs(matrix)) == 0


def branching_pairs(matrix: np.ndarray) -> np.ndarray:
    """Pairs (p, q), p < q, of non-empty columns with disjoint supports (different lineages)."""
    n11, n10, n01 = _pair_counts(matrix)
    nonempty = np.diag(n11) > 0
    disjoint = np.triu((n11 == 0) & nonempty[:, None] & nonempty[None, :], k=1)
    return np.argwhere(disjoint)


def is_linear(matrix: np.ndarray) -> bool:
    """True for a conflict-free matrix whose clones form a chain (no disjoint non-empty columns).

    Raises :class:`~phylo_vi.errors.InvalidParameterError` on a matrix with conflicts, for which
    the question is undefined; use :func:`check_matrix_structure` to get counts for noisy matrices.
    """
    if not is_conflict_free(matrix):
        raise InvalidParameterError("linear/branching is defined only for conflict-free matrices")
    return len(branching_pairs(matrix)) == 0


@dataclass(frozen=True)
class StructureReport:
    """Exact structure of one matrix (the baseline every classifier is reported next to)."""

    n_cells: int
    n_mutations: int
    n_missing: int
    n_conflicting_pairs: int
    n_branching_pairs: int
    conflict_free: bool
    linear: bool | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def check_matrix_structure(matrix: np.ndarray) -> StructureReport:
    """Conflict and branching counts; ``linear`` is None when the matrix has conflicts."""
    values = check_matrix(matrix)
    n_conflicts = len(conflicting_pairs(values))
    n_branching = len(branching_pairs(values))
    return StructureReport(
        n_cells=values.shape[0], n_mutations=values.shape[1], n_missing=int((values == MISSING).sum()),
        n_conflicting_pairs=n_conflicts, n_branching_pairs=n_branching, conflict_free=n_conflicts == 0,
        linear=(n_branching == 0) if n_conflicts == 0 else None)
