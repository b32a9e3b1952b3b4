"""The cells x mutations genotype matrix and its observation (FP/FN) model.

Entries are ``0`` (mutation absent), ``1`` (present) or :data:`MISSING` (``3``, the
HUNTRESS/scphylo convention). Shapes: cells ``n``, mutations ``m``; matrices are (n, m) int8.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phylo_vi.base import Interval, check_parameter
from phylo_vi.errors import InvalidParameterError, PhyloVIError

MISSING = 3
#: FP and FN rates lie strictly between 0 and 1 (a zero rate makes a flip impossible)
ERROR_RATE = (Interval(float, 0.0, 1.0, closed="neither"),)


@dataclass
class GenotypeMatrix:
    """A cells x mutations 0/1 matrix with missing entries (``3``) and row/column names."""

    values: np.ndarray
    cell_names: list[str] = field(default_factory=list)
    mutation_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = check_matrix(self.values, allow_missing=True)
        n_cells, n_mutations = self.values.shape
        if not self.cell_names:
            self.cell_names = [f"cell{i}" for i in range(n_cells)]
        if not self.mutation_names:
            self.mutation_names = [f"mut{j}" for j in range(n_mutations)]
        if len(self.cell_names) != n_cells or len(self.mutation_names) != n_mutations:
            raise PhyloVIError(
                f"{len(self.cell_names)} cell names and {len(self.mutation_names)} mutation names "
                f"for a {n_cells} x {n_mutations} matrix")

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def missing(self) -> np.ndarray:
        """Boolean mask of missing entries."""
        return self.values == MISSING

    def with_values(self, values: np.ndarray) -> "GenotypeMatrix":
        """The same names around another matrix of the same shape."""
        return GenotypeMatrix(np.asarray(values), list(self.cell_names), list(self.mutation_names))


def check_matrix(values, *, allow_missing: bool = True) -> np.ndarray:
    """Validate a 2-D matrix of 0/1 (and ``3`` when ``allow_missing``); return it as int8."""
    array = np.asarray(values)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise PhyloVIError(f"a genotype matrix must be 2-D and non-empty, got shape {array.shape}")
    allowed = (0, 1, MISSING) if allow_missing else (0, 1)
    if not np.isin(array, allowed).all():
        bad = array[~np.isin(array, allowed)].ravel()[0]
        raise PhyloVIError(f"genotype entries must be in {allowed}, found {bad!r}")
    return array.astype(np.int8, copy=False)


def observation_log_probs(observed: np.ndarray, fp: float, fn: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-entry log P(observed | true = 0) and log P(observed | true = 1), shape (n, m) each.

    The single-cell error model (Jahn et al. 2016, SCITE, eq. 1; Malikic et al. 2019, PhISCS):
    a true 0 is read as 1 with probability ``fp`` (alpha), a true 1 as 0 with probability
    ``fn`` (beta), independently; a missing entry carries no information (both terms 0).
    """
    check_rates(fp, fn)
    observed = check_matrix(observed)
    one = observed == 1
    zero = observed == 0
    log0 = np.where(one, np.log(fp), np.where(zero, np.log1p(-fp), 0.0))
    log1 = np.where(one, np.log1p(-fn), np.where(zero, np.log(fn), 0.0))
    return log0, log1


def check_rates(fp: float, fn: float) -> None:
    """Error rates must lie strictly between 0 and 1 (a zero rate makes a flip impossible)."""
    for name, rate in (("fp", fp), ("fn", fn)):
        check_parameter(f"{name} rate", rate, ERROR_RATE)


def log_likelihood(observed: np.ndarray, candidate: np.ndarray, fp: float, fn: float) -> float:
    """log P(observed | candidate) under the FP/FN model; missing entries are skipped."""
    log0, log1 = observation_log_probs(observed, fp, fn)
    candidate = check_matrix(candidate, allow_missing=False)
    if candidate.shape != log0.shape:
        raise InvalidParameterError(f"candidate of shape {candidate.shape} for an observed matrix of shape {log0.shape}")
    return float(np.where(candidate == 1, log1, log0).sum())
