"""Estimator formulas on samples with known answers, the ladder, metrics and file reading."""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.marginal.bridge_sampling import optimal_bridge
from phylo_vi.marginal.cpo import cpo_log_marginal
from phylo_vi.marginal.harmonic_mean import harmonic_mean_log_marginal
from phylo_vi.marginal.importance import importance_sampling_log_marginal
from phylo_vi.marginal.ladder import power_posterior_ladder
from phylo_vi.marginal.metrics import hellinger_distance, kl_divergence, split_membership, split_rmsd
from phylo_vi.marginal.modified_path_sampling import modified_path_sampling_log_marginal
from phylo_vi.marginal.nested_sampling import nested_sampling_log_marginal
from phylo_vi.marginal.path_sampling import path_sampling_log_marginal
from phylo_vi.marginal.posterior_predictive import lppd_log_marginal
from phylo_vi.marginal.stabilized_harmonic_mean import stabilized_harmonic_mean_log_marginal
from phylo_vi.marginal.stepping_stone import stepping_stone_log_marginal
from phylo_vi.marginal.topologies import read_credible_set, reference_posterior, top_topologies
from phylo_vi.io.newick import parse_newick
from phylo_vi.trees import TaxonNamespace


def test_ladder_matches_physher_values():
    # reference: specs/marginal_likelihood.md 2.3 (physher invbetai, descending):
    # 1, 0.9336, 0.8703, 0.8101, 0.7529, ..., 2.36e-4, 9.05e-5, 2.34e-5, 2.32e-6, 0
    betas = power_posterior_ladder(50, 0.3)[::-1]
    assert betas[:5] == pytest.approx([1, 0.9336, 0.8703, 0.8101, 0.7529], abs=1e-4)
    assert betas[-5:] == pytest.approx([2.36e-4, 9.05e-5, 2.34e-5, 2.32e-6, 0], rel=5e-3, abs=1e-12)


# Gaussian toy with exact power posteriors: prior N(0, 1), log-likelihood −θ²/(2 s²) (no constant),
# power posterior at β: N(0, 1 / (1 + β / s²)); exact log Z = −log(1 + 1/s²) / 2.
S2 = 0.5
EXACT = -0.5 * math.log(1.0 + 1.0 / S2)


def _power_samples(betas, n, seed):
    rng = np.random.default_rng(seed)
    sd = 1.0 / np.sqrt(1.0 + np.asarray(betas) / S2)
    theta = rng.standard_normal((len(betas), n)) * sd[:, None]
    return -theta**2 / (2 * S2)


@pytest.mark.parametrize("formula", [stepping_stone_log_marginal, path_sampling_log_marginal,
                                     modified_path_sampling_log_marginal])
def test_thermodynamic_formulas_on_exact_power_posteriors(formula):
    betas = power_posterior_ladder(50, 0.3)
    estimate, se = formula(betas, _power_samples(betas, 4000, 1))
    # discretisation bias of PS on 50 Beta(0.3,1) steps is < 1e-3 here (analytic E_β)
    assert abs(estimate - EXACT) < 4 * se + 1e-3


def test_path_sampling_trapezoid_is_exact_for_linear_means():
    # E_β = 2 − 3β exactly (zero variance): ∫_0^1 E_β dβ = 0.5
    betas = power_posterior_ladder(7, 0.5)
    values = np.repeat((2.0 - 3.0 * betas)[:, None], 5, axis=1)
    assert path_sampling_log_marginal(betas, values)[0] == pytest.approx(0.5, abs=1e-12)


def test_harmonic_mean_and_importance_sampling_plain_formulas():
    values = np.array([-1.0, -2.0, -0.5, -3.0])
    # reference: direct evaluation without logs
    assert harmonic_mean_log_marginal(values) == pytest.approx(math.log(4 / np.sum(1 / np.exp(values))), rel=1e-12)
    log_z, se = importance_sampling_log_marginal(values)
    assert log_z == pytest.approx(math.log(np.mean(np.exp(values))), rel=1e-12)
    w = np.exp(values)
    assert se == pytest.approx(np.std(w, ddof=1) / math.sqrt(4) / np.mean(w), rel=1e-12)
    assert importance_sampling_log_marginal(np.full(10, -7.0)) == (pytest.approx(-7.0, rel=1e-15), 0.0)


def test_stabilized_harmonic_mean_solves_the_newton_raftery_equation():
    rng = np.random.default_rng(2)
    ll = rng.normal(-3.0, 0.7, size=300)
    delta = 0.05
    p = math.exp(stabilized_harmonic_mean_log_marginal(ll, delta))
    likelihood = np.exp(ll)
    n = len(ll)
    denominators = delta + (1 - delta) * likelihood / p
    rhs = (n * delta / (1 - delta) * p + np.sum(likelihood / denominators)) / (
        n * delta / (1 - delta) + np.sum(1 / denominators))
    assert p == pytest.approx(rhs, rel=1e-6)


def test_cpo_and_lppd_against_loops():
    rng = np.random.default_rng(4)
    site = rng.normal(-2.0, 0.5, size=(50, 3))
    weights = np.array([1.0, 2.0, 5.0])
    expected_cpo = sum(weights[s] * math.log(1 / np.mean(1 / np.exp(site[:, s]))) for s in range(3))
    expected_lppd = sum(weights[s] * math.log(np.mean(np.exp(site[:, s]))) for s in range(3))
    assert cpo_log_marginal(site, weights) == pytest.approx(expected_cpo, rel=1e-12)
    assert lppd_log_marginal(site, weights) == pytest.approx(expected_lppd, rel=1e-12)
    assert cpo_log_marginal(site, weights) <= lppd_log_marginal(site, weights)  # HM ≤ AM per pattern


def test_optimal_bridge_between_two_gaussians():
    # p̃(x) = 3·N(x; 1, 0.8²) (so Z = 3), proposal g = N(0.8, 1): exact log Z = log 3
    rng = np.random.default_rng(5)

    def log_p(x):
        return math.log(3.0) - 0.5 * ((x - 1) / 0.8) ** 2 - math.log(0.8 * math.sqrt(2 * math.pi))

    def log_g(x):
        return -0.5 * (x - 0.8) ** 2 - 0.5 * math.log(2 * math.pi)

    x1 = rng.normal(1.0, 0.8, 2000)
    x2 = rng.normal(0.8, 1.0, 2000)
    log_z, se = optimal_bridge(log_p(x1) - log_g(x1), log_p(x2) - log_g(x2), initial_log_z=0.0)
    assert abs(log_z - math.log(3.0)) < 4 * se


def test_nested_sampling_of_a_constant_likelihood_returns_it():
    # L ≡ c: the retired weights and live points sum to exactly c (geometric series)
    n_live, n_dead = 20, 400
    log_z, _ = nested_sampling_log_marginal(np.full(n_dead, -4.0), np.full(n_live, -4.0), n_live)
    assert log_z == pytest.approx(-4.0, abs=1e-9)


def _quartets():
    taxa = TaxonNamespace(["A", "B", "C", "D", "E"])
    newicks = ["((A,B),(C,D),E);", "((A,B),(C,E),D);", "((A,C),(B,D),E);"]
    return [parse_newick(text, taxa) for text in newicks]


def test_kl_hellinger_and_split_rmsd_by_hand():
    trees = _quartets()
    reference = np.array([0.5, 0.3, 0.2])
    log_z = np.log(np.array([0.25, 0.25, 0.5]))
    p, q = reference, np.array([0.25, 0.25, 0.5])
    assert kl_divergence(reference, log_z) == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-12)
    assert hellinger_distance(reference, log_z) == pytest.approx(
        math.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / math.sqrt(2), rel=1e-12)
    assert kl_divergence(reference, np.log(reference) + 3.0) == pytest.approx(0.0, abs=1e-12)
    # splits: AB (trees 0, 1), CD (0), CE (1), AC (2), BD (2); side without A is stored, so
    # AB → CDE, AC → BDE; probabilities by hand: P = (.8, .5, .3, .2, .2), Q = (.5, .25, .25, .5, .5)
    splits, membership = split_membership(trees)
    assert membership.shape == (3, 5)
    diff = np.array([0.8 - 0.5, 0.5 - 0.25, 0.3 - 0.25, 0.2 - 0.5, 0.2 - 0.5])
    assert split_rmsd(reference, log_z, membership) == pytest.approx(math.sqrt(np.sum(diff**2) / 6), rel=1e-12)
    assert split_rmsd(reference, log_z, membership, include_root_clade=False) == pytest.approx(
        math.sqrt(np.mean(diff**2)), rel=1e-12)


def test_reference_posterior_matches_topologies_in_any_rooting():
    trees = _quartets()
    taxa = trees[0].taxa
    reference = [parse_newick("(E,(C,D),(A,B));", taxa, weight=0.7), parse_newick("((B,D),(A,C),E);", taxa, weight=0.1)]
    assert reference_posterior(trees, reference) == pytest.approx([0.7, 0.0, 0.1], abs=1e-15)
    assert [t.weight for t in top_topologies(reference, 1)] == [0.7]


def test_credible_set_file_of_ds1(shared_data):
    # reference: shared/data/marginal/README.md (42 topologies, SRF sum 0.9512, top 0.278152)
    trees = read_credible_set(shared_data / "marginal" / "JC_no_gamma_credible_set_ds1")
    assert len(trees) == 42
    assert sum(t.weight for t in trees) == pytest.approx(0.9512, abs=1e-4)
    assert trees[0].weight == pytest.approx(0.278152, rel=1e-12)
    assert all(t.n_leaves == 27 for t in trees)
    assert len({t.topology_key() for t in trees}) == 42


def test_whole_tree_scaler_chain_keeps_exact_likelihoods(quartet):
    # after accepted whole-tree scalings the single-branch cache is rebuilt: every logged
    # log-likelihood must equal a fresh full evaluation at the logged branch lengths
    import numpy as np

    from phylo_vi.marginal.mcmc import TREE_SCALER_COUNT, run_adaptive_mcmc

    problem = quartet.problem()
    chain = run_adaptive_mcmc(problem, np.full(problem.n_branches, 0.1), n_iter=20_000, thin=100, n_burnin=0,
                              rng=np.random.default_rng(2), tree_scaler_weight=0.3)
    np.testing.assert_allclose(chain.log_likelihood, problem.log_likelihood_batch(chain.branch_lengths),
                               rtol=1e-12)
    assert chain.tuning[TREE_SCALER_COUNT] > 5000   # the whole-tree scaler was proposed (about 30% of 20,000)


def test_whole_tree_scaler_samples_the_prior_at_beta_zero(quartet):
    # at β = 0 the target is the Exponential(10) prior: mean and sd 0.1 per branch, exactly; a wrong
    # Hastings ratio for the whole-tree scaler ((B − 2) log s) would shift both
    import numpy as np

    from phylo_vi.marginal.mcmc import TemperedTarget, run_adaptive_mcmc

    problem = quartet.problem()
    chain = run_adaptive_mcmc(problem, np.full(problem.n_branches, 0.1), n_iter=400_000, thin=10, n_burnin=1000,
                              rng=np.random.default_rng(1), target=TemperedTarget(beta=0.0), tree_scaler_weight=0.9)
    # 39,001 draws of 5 branches, autocorrelated: the tolerance is about 4 Monte Carlo errors
    assert chain.branch_lengths.mean() == pytest.approx(0.1, abs=0.003)
    assert chain.branch_lengths.std() == pytest.approx(0.1, abs=0.004)
