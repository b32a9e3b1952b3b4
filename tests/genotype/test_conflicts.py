"""Exact conflict and branching checks against brute-force loops and documented counts."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from phylo_vi.genotype import (MISSING, check_matrix_structure, conflicting_pairs, is_conflict_free, is_linear,
                               read_genotype, simulate_clonal, simulate_coalescent)


def brute_force_conflicts(values):
    """Three-gamete rule by explicit loops over column pairs and rows (missing entries skipped)."""
    out = []
    for p, q in itertools.combinations(range(values.shape[1]), 2):
        seen = set()
        for row in values:
            if row[p] != MISSING and row[q] != MISSING:
                seen.add((int(row[p]), int(row[q])))
        if {(1, 1), (1, 0), (0, 1)} <= seen:
            out.append((p, q))
    return out


def brute_force_linear(values):
    """Linear iff the distinct rows are totally ordered by inclusion."""
    rows = [set(np.flatnonzero(r)) for r in np.unique(values, axis=0)]
    return all(a <= b or b <= a for a, b in itertools.combinations(rows, 2))


@pytest.mark.parametrize("seed", range(20))
def test_conflicting_pairs_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(2, 9, size=2)
    values = rng.choice([0, 1, MISSING], size=(n, m), p=[0.55, 0.35, 0.1]).astype(np.int8)
    assert [tuple(p) for p in conflicting_pairs(values)] == brute_force_conflicts(values)


@pytest.mark.parametrize("seed", range(10))
def test_simulated_perfect_phylogenies_are_conflict_free_and_labelled_right(seed):
    rng = np.random.default_rng(seed)
    for linear in (False, True):
        truth = simulate_clonal(12, 15, int(rng.integers(2, 7)), linear=linear, random_state=rng)
        assert is_conflict_free(truth)
        assert is_linear(truth) == brute_force_linear(truth)
        if linear:
            assert is_linear(truth)
    coalescent = simulate_coalescent(10, 12, random_state=seed)
    assert is_conflict_free(coalescent)
    assert is_linear(coalescent) == brute_force_linear(coalescent)


def test_is_linear_refuses_matrices_with_conflicts():
    with pytest.raises(ValueError):
        is_linear(np.array([[1, 1], [1, 0], [0, 1]]))
    report = check_matrix_structure(np.array([[1, 1], [1, 0], [0, 1]]))
    assert report.n_conflicting_pairs == 1 and report.linear is None


@pytest.mark.parametrize("relative, expected", [
    # conflicting-pair counts documented in ../shared/data/genotype/README.md
    ("phiscs_sim/noisy/simNo_1-s_10-m_100-h_1-minVAF_0.03-ISAV_0-n_100-fp_0.0001-fn_0.05-na_0-d_0-l_1000000.SC", 661),
    ("phiscs_sim/noisy/simNo_1-s_10-m_100-h_1-minVAF_0.03-ISAV_0-n_100-fp_0.0001-fn_0.1-na_0-d_0-l_1000000.SC", 859),
    ("phiscs_sim/noisy/simNo_1-s_10-m_100-h_1-minVAF_0.03-ISAV_0-n_100-fp_0.0001-fn_0.2-na_0-d_0-l_1000000.SC", 1214),
    ("huntress_demo/Demo.SC", 362),
    ("examples/phiscs_bnb_data1.SC", 22),
    ("real/tnbc_Wang2014_16x20.SC", 91),
    ("real/ALL_Gawad2014_patient6_146x10.SC", 45),
    ("real/CRC1_Leung2017_178x16.SC", 104),
    ("real/scite_dataNavin.csv", 341),
    ("real/scite_dataXu.csv", 300),
])
def test_documented_conflict_counts(shared_data, relative, expected):
    assert len(conflicting_pairs(read_genotype(shared_data / "genotype" / relative).values)) == expected


def test_tool_outputs_and_ground_truths_are_conflict_free(shared_data):
    root = shared_data / "genotype"
    for path in [*sorted((root / "phiscs_sim/ground").glob("*.SC")), root / "huntress_demo/Demo_out.CFMatrix",
                 root / "examples/phiscs_bnb_data1.CFMatrix"]:
        assert is_conflict_free(read_genotype(path).values), path
