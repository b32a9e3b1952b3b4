"""Simulators: reproducible under a seed, the documented structure, and noise at the nominal rates."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.errors import PhyloVIError
from phylo_vi.genotype import MISSING, add_noise, simulate_clonal, simulate_coalescent
from phylo_vi.genotype.simulate import simulate_dataset


def test_same_seed_same_matrices():
    a = simulate_dataset(3, 20, 15, fp=1e-3, fn=0.1, missing_rate=0.05, n_clones=(2, 6), random_state=11)
    b = simulate_dataset(3, 20, 15, fp=1e-3, fn=0.1, missing_rate=0.05, n_clones=(2, 6), random_state=11)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.observed, y.observed)
        np.testing.assert_array_equal(x.truth, y.truth)
    np.testing.assert_array_equal(simulate_coalescent(8, 9, random_state=4), simulate_coalescent(8, 9, random_state=4))


def test_clonal_truth_has_one_distinct_row_per_clone_and_no_empty_mutation():
    # PhISCS simulator design: s clones (normal root included) -> s distinct rows (README: 10 for s=10)
    truth = simulate_clonal(100, 100, 10, random_state=0)
    assert len(np.unique(truth, axis=0)) == 10
    assert (truth.sum(axis=0) > 0).all()
    assert (truth.sum(axis=1) == 0).any()  # the normal clone


def test_coalescent_has_every_site_segregating():
    matrix = simulate_coalescent(30, 40, random_state=1)
    column_sums = matrix.sum(axis=0)
    assert ((column_sums > 0) & (column_sums < 30)).all()  # ms -s: every site is polymorphic


def test_noise_rates_match_the_nominal_rates():
    # binomial tolerance: 5 standard deviations of the empirical rate
    rng = np.random.default_rng(5)
    truth = (rng.random((400, 400)) < 0.3).astype(np.int8)
    fp, fn, missing = 0.01, 0.2, 0.1
    observed = add_noise(truth, fp, fn, missing, random_state=rng)
    seen = observed != MISSING
    for rate, mask, flipped in ((fp, (truth == 0) & seen, observed == 1), (fn, (truth == 1) & seen, observed == 0),
                                (missing, np.ones_like(seen), ~seen)):
        n = mask.sum()
        assert abs((flipped & mask).sum() / n - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_bad_arguments_raise_phylovi_errors():
    with pytest.raises(PhyloVIError):
        simulate_clonal(5, 3, 6)
    with pytest.raises(PhyloVIError):
        add_noise(np.zeros((2, 2)), 1.5, 0.1)
