"""Accuracy of a reconstructed genotype matrix against the ground truth.

- Entry error: fraction of entries that differ (HUNTRESS/PhISCS-BnB benchmarks).
- Ancestor–descendant (AD) accuracy, HUNTRESS ``compareAD`` (Kizilkale et al. 2022, Nat.
  Comput. Sci.; introduced in B-SCITE, Malikic et al. 2019): over column pairs p <= q that
  overlap in the truth and have different column sums, an error is a pair that does not
  overlap in the prediction or whose column-sum order is not strictly preserved.
- Different-lineage (DL) accuracy, HUNTRESS ``compareDF``: over column pairs p <= q with
  disjoint supports in the truth (an all-zero truth column pairs with itself, as in HUNTRESS),
  an error is a pair that co-occurs in some cell of the prediction.

Pair counts use the matrix products of :mod:`phylo_vi.genotype.conflicts`, so each metric is
O(n m^2) in BLAS rather than the O(n m^2) Python loops of the reference code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.genotype.conflicts import is_conflict_free
from phylo_vi.genotype.matrix import MISSING, GenotypeMatrix, check_matrix


def _check_pair(truth, predicted) -> tuple[np.ndarray, np.ndarray]:
    truth = check_matrix(truth, allow_missing=False).astype(np.float64)
    predicted = check_matrix(predicted, allow_missing=False).astype(np.float64)
    if truth.shape != predicted.shape:
        raise PhyloVIError(f"truth {truth.shape} and prediction {predicted.shape} differ in shape")
    return truth, predicted


def entry_error(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of entries where the prediction differs from the truth."""
    truth, predicted = _check_pair(truth, predicted)
    return float(np.mean(truth != predicted))


def ancestor_descendant_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """HUNTRESS ``compareAD`` score (NaN when the truth has no ancestor–descendant pair)."""
    truth, predicted = _check_pair(truth, predicted)
    cap_true = truth.T @ truth > 0
    cap_pred = predicted.T @ predicted > 0
    sum_true = truth.sum(axis=0)
    sum_pred = predicted.sum(axis=0)
    upper = np.triu(np.ones(cap_true.shape, dtype=bool))
    pairs = upper & cap_true & (sum_true[:, None] != sum_true[None, :])
    # order preserved: the larger column in the truth is strictly larger in the prediction
    true_order = np.sign(sum_true[:, None] - sum_true[None, :])
    pred_order = np.sign(sum_pred[:, None] - sum_pred[None, :])
    errors = pairs & (~cap_pred | (true_order != pred_order))
    n_pairs = int(pairs.sum())
    return float("nan") if n_pairs == 0 else 1.0 - errors.sum() / n_pairs


def different_lineage_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """HUNTRESS ``compareDF`` score (NaN when the truth has no different-lineage pair)."""
    truth, predicted = _check_pair(truth, predicted)
    upper = np.triu(np.ones((truth.shape[1],) * 2, dtype=bool))
    pairs = upper & ((truth.T @ truth) == 0)
    errors = pairs & ((predicted.T @ predicted) > 0)
    n_pairs = int(pairs.sum())
    return float("nan") if n_pairs == 0 else 1.0 - errors.sum() / n_pairs


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one prediction against its truth."""

    entry_error: float
    ancestor_descendant: float
    different_lineage: float
    conflict_free: bool
    n_false_positives: int
    n_false_negatives: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate(truth: np.ndarray, predicted: np.ndarray) -> Evaluation:
    """All metrics of ``predicted`` against ``truth`` (missing predictions are not allowed)."""
    t, p = _check_pair(truth, predicted)
    return Evaluation(
        entry_error=entry_error(t, p),
        ancestor_descendant=ancestor_descendant_accuracy(t, p),
        different_lineage=different_lineage_accuracy(t, p),
        conflict_free=is_conflict_free(p.astype(np.int8)),
        n_false_positives=int(((p == 1) & (t == 0)).sum()),
        n_false_negatives=int(((p == 0) & (t == 1)).sum()))


def evaluate_genotypes(truth: GenotypeMatrix, predicted: GenotypeMatrix) -> Evaluation:
    """:func:`evaluate` of two named matrices: the prediction's columns are put in the truth's order
    when both hold the same mutation names; missing entries are refused."""
    values = predicted.values
    if predicted.mutation_names != truth.mutation_names and sorted(predicted.mutation_names) == sorted(
            truth.mutation_names):
        values = values[:, [predicted.mutation_names.index(name) for name in truth.mutation_names]]
    if (values == MISSING).any() or (truth.values == MISSING).any():
        raise PhyloVIError("evaluate needs complete 0/1 matrices (no missing entries)")
    return evaluate(truth.values, values)
