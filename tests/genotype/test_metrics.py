"""Metrics against a line-by-line port of HUNTRESS ``compareAD`` / ``compareDF`` (PASSIONLab/HUNTRESS
@ 70f1355, huntress.py), used here as the independent reference."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.genotype import evaluate, simulate_clonal
from phylo_vi.genotype.metrics import ancestor_descendant_accuracy, different_lineage_accuracy, entry_error


def huntress_compare_ad(m1, m2):
    errors, n_pairs = 0, 0
    for i in range(m1.shape[1]):
        for j in range(i, m1.shape[1]):
            cap1 = np.sum(m1[:, i] * m1[:, j])
            cap2 = np.sum(m2[:, i] * m2[:, j])
            if cap1 > 0 and np.sum(m1[:, i]) != np.sum(m1[:, j]):
                n_pairs += 1
                if cap2 == 0:
                    errors += 1
                elif np.sum(m1[:, j]) > np.sum(m1[:, i]) and np.sum(m2[:, j]) <= np.sum(m2[:, i]):
                    errors += 1
                elif np.sum(m1[:, i]) > np.sum(m1[:, j]) and np.sum(m2[:, i]) <= np.sum(m2[:, j]):
                    errors += 1
    return float("nan") if n_pairs == 0 else 1 - errors / n_pairs


def huntress_compare_df(m1, m2):
    errors, n_pairs = 0, 0
    for i in range(m1.shape[1]):
        for j in range(i, m1.shape[1]):
            if np.sum(m1[:, i] * m1[:, j]) == 0:
                n_pairs += 1
                if np.sum(m2[:, i] * m2[:, j]) > 0:
                    errors += 1
    return float("nan") if n_pairs == 0 else 1 - errors / n_pairs


@pytest.mark.parametrize("seed", range(8))
def test_pair_accuracies_match_huntress_loops(seed):
    rng = np.random.default_rng(seed)
    truth = simulate_clonal(15, 12, 5, random_state=rng)
    predicted = np.where(rng.random(truth.shape) < 0.15, 1 - truth, truth).astype(np.int8)
    assert ancestor_descendant_accuracy(truth, predicted) == pytest.approx(huntress_compare_ad(truth, predicted), abs=1e-12, nan_ok=True)
    assert different_lineage_accuracy(truth, predicted) == pytest.approx(huntress_compare_df(truth, predicted), abs=1e-12, nan_ok=True)


def test_perfect_prediction_scores_perfectly():
    truth = simulate_clonal(20, 20, 6, random_state=3)
    result = evaluate(truth, truth)
    assert result.entry_error == 0.0 and result.ancestor_descendant == 1.0 and result.different_lineage == 1.0
    assert result.conflict_free


def test_entry_error_counts_flips():
    truth = np.zeros((4, 5), np.int8)
    predicted = truth.copy()
    predicted[0, 0] = predicted[3, 4] = 1
    assert entry_error(truth, predicted) == pytest.approx(2 / 20, rel=1e-12)
