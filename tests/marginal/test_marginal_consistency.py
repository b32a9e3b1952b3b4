"""Consistent estimators land within 4 reported standard errors of the exact log Z.

Exact log Z: Gauss–Legendre quadrature of the brute-force JC69 likelihood (marginal_reference.py),
quadrature error < 1e-4 (test_marginal_reference.py). Moderate settings: chains of 50,000 MH
iterations (901 samples), 30-step ladders of 5,000 iterations per step, 10,000 IS draws. The
triplet runs in the default suite; the quartet and the HMC-sampler variants are marked slow
(``pytest -m slow``) to keep Numba compilation and run time of the default suite small.
"""
from __future__ import annotations

import math

import pytest

from phylo_vi.marginal import (BridgeSampling, GammaLaplusImportanceSampling, GeneralizedSteppingStone,
                               ModifiedPathSampling, NaiveMonteCarlo, NestedSampling, PathSampling, SteppingStone,
                               VariationalImportanceSampling)

CHAIN = dict(n_iter=50_000, thin=50, n_burnin=100)
LADDER = dict(n_steps=30, n_iter=5000, thin=5, n_burnin=100)
ESTIMATORS = {
    "nmc": lambda seed: NaiveMonteCarlo(random_state=seed),
    "glis": lambda seed: GammaLaplusImportanceSampling(random_state=seed),
    "vbis": lambda seed: VariationalImportanceSampling(tol=1e-5, max_iter=50_000, random_state=seed),
    "bs": lambda seed: BridgeSampling(**CHAIN, random_state=seed),
    "ns": lambda seed: NestedSampling(n_live=50, n_mcmc=100, random_state=seed),
    "ss": lambda seed: SteppingStone(**LADDER, random_state=seed),
    "ps": lambda seed: PathSampling(**LADDER, random_state=seed),
    "mps": lambda seed: ModifiedPathSampling(**LADDER, random_state=seed),
    "gss": lambda seed: GeneralizedSteppingStone(**LADDER, random_state=seed),
}


def _check_within_four_standard_errors(estimator, case):
    estimator.fit(case.problem())
    se = estimator.standard_error_
    assert math.isfinite(se) and se > 0
    tolerance = 4.0 * se + case.quadrature_error
    assert abs(estimator.log_marginal_ - case.log_marginal) < tolerance, (
        f"{estimator.label}: {estimator.log_marginal_:.4f} vs exact {case.log_marginal:.4f} (se {se:.4f})")
    assert estimator.n_likelihood_evaluations_ > 0 and estimator.wall_time_ > 0


@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_consistent_estimator_triplet(method, triplet):
    _check_within_four_standard_errors(ESTIMATORS[method](7), triplet)


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_consistent_estimator_quartet(method, quartet):
    _check_within_four_standard_errors(ESTIMATORS[method](8), quartet)


@pytest.mark.parametrize("method", [SteppingStone, GeneralizedSteppingStone, BridgeSampling])
@pytest.mark.slow
def test_gradient_based_sampler_is_consistent(method, quartet):
    # the HMC sampler (engine gradients) in place of the paper's MH kernel
    settings = dict(n_iter=600, thin=2, n_burnin=100, sampler="hmc", n_leapfrog=5, random_state=3)
    if method is not BridgeSampling:
        settings["n_steps"] = 30
    else:
        settings.update(n_iter=2000, thin=1, n_burnin=200)
    _check_within_four_standard_errors(method(**settings), quartet)


@pytest.mark.parametrize("method", [SteppingStone, GeneralizedSteppingStone])
def test_whole_tree_scaler_and_parallel_runs_are_consistent(method, quartet):
    # the MH kernel plus the whole-tree scaler, two ladders in parallel threads pooled per step
    estimator = method(n_steps=30, n_iter=5000, thin=5, n_burnin=100, sampler="mh-tree", n_runs=2, random_state=5)
    _check_within_four_standard_errors(estimator, quartet)


@pytest.mark.parametrize("method", [SteppingStone, GeneralizedSteppingStone])
def test_gradient_based_parallel_ladders_are_consistent(method, triplet):
    # the shape of the speed-target settings of benchmarks/marginal.py (HMC, two ladders pooled per
    # step, 100 steps), with shorter chains
    estimator = method(n_steps=100, n_iter=300, thin=1, n_burnin=60, sampler="hmc", n_leapfrog=5, n_runs=2,
                       random_state=11)
    _check_within_four_standard_errors(estimator, triplet)


@pytest.mark.parametrize("sampler, n_iter", [("mh-tree", 2000), ("hmc", 200)])
def test_parallel_runs_are_reproducible_and_counted(sampler, n_iter, triplet):
    settings = dict(n_steps=10, n_iter=n_iter, thin=2, n_burnin=50, sampler=sampler, n_runs=2, random_state=9)
    first = SteppingStone(**settings).fit(triplet.problem())
    second = SteppingStone(**settings).fit(triplet.problem())
    assert first.log_marginal_ == second.log_marginal_
    # two runs of 10 chains of n_iter iterations (at least one evaluation each) and the MAP search
    assert first.n_likelihood_evaluations_ >= 2 * 10 * n_iter
