"""Error rates learnt jointly with the matrix: exact M-step, and estimates near the simulated rates."""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.genotype import MISSING, read_genotype
from phylo_vi.genotype.rates import estimate_rates, rates_given_matrix
from phylo_vi.genotype.simulate import simulate_experiment


def test_m_step_counts_flips_with_jeffreys_pseudocounts():
    truth = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 0, 1]], dtype=np.int8)
    observed = np.array([[1, 0, 0, 1], [0, 1, 1, MISSING], [0, 0, 0, 0]], dtype=np.int8)
    # true zeros observed: 6, one read as 1; true ones observed: 5, two read as 0 (hand count)
    assert rates_given_matrix(observed, truth) == pytest.approx(((1 + 0.5) / 7, (2 + 0.5) / 6))
    # leaving out row 2 as a doublet: zeros 3 (one flipped), ones 4 (one flipped)
    fp, fn = rates_given_matrix(observed, truth, np.array([False, False, True]))
    assert (fp, fn) == pytest.approx((1.5 / 4, 1.5 / 5))


@pytest.mark.parametrize("fp, fn, missing", [
    (1e-3, 0.1, 0.15),
    pytest.param(0.01, 0.05, 0.05, marks=pytest.mark.slow),
    pytest.param(1e-4, 0.2, 0.25, marks=pytest.mark.slow),
])
def test_estimates_land_near_the_simulated_rates(fp, fn, missing):
    # reference: the oracle rates, i.e. the M-step applied to the true matrix (the best any
    # estimator can do from these data); tolerance: FN within 0.015, FP within 0.6 fp + 3e-4
    # (about 3 binomial standard deviations of the FP count on 100 x 100 matrices)
    for seed in range(2):
        sim = simulate_experiment("clonal", 100, 100, n_clones=10, fp=fp, fn=fn, missing_rate=missing,
                                  random_state=seed)
        oracle_fp, oracle_fn = rates_given_matrix(sim.observed, sim.truth)
        rates, _ = estimate_rates(sim.observed)
        assert rates.converged
        assert abs(rates.fn - oracle_fn) < 0.015
        assert abs(rates.fp - oracle_fp) < 0.6 * fp + 3e-4
        assert rates.missing == pytest.approx(np.mean(sim.observed == MISSING))


def test_demo_rates_match_its_known_noise(shared_data):
    # README of ../shared/data/genotype: Demo.SC has 0 false positives and 5.2% of observed ones flipped
    observed = read_genotype(shared_data / "genotype/huntress_demo/Demo.SC").values
    truth = read_genotype(shared_data / "genotype/phiscs_sim/ground/simNo_1-s_10-m_100-n_100.ground.SC").values
    rates, _ = estimate_rates(observed)
    assert rates.fp < 5e-4
    assert rates.fn == pytest.approx(rates_given_matrix(observed, truth)[1], abs=0.01)
    assert rates.missing == pytest.approx(0.25)
