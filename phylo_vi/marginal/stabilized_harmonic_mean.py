"""Stabilised harmonic mean (Newton & Raftery 1994, J. R. Stat. Soc. B 56:3, eq. 13).

The posterior sample is imagined to be mixed with a fraction δ of draws from the prior; the
estimate is the fixed point of

    p̂ = [nδ/(1−δ) p̂ + Σ_j L_j / (δ + (1−δ) L_j / p̂)] / [nδ/(1−δ) + Σ_j 1 / (δ + (1−δ) L_j / p̂)],

iterated in log space from the harmonic mean (physher ``marginal.c``: δ = 0.01, at most 10,000
iterations, stop when |Δ log p̂| < 1e-7).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from phylo_vi.base import Interval
from phylo_vi.marginal.harmonic_mean import harmonic_mean_log_marginal
from phylo_vi.marginal.posterior_sampling import PosteriorSamplingEstimator


def stabilized_harmonic_mean_log_marginal(log_likelihoods: np.ndarray, delta: float = 0.01,
                                          max_iter: int = 10_000, tol: float = 1e-7) -> float:
    """Fixed point of the Newton–Raftery equation above, in log space."""
    ll = np.asarray(log_likelihoods, dtype=np.float64)
    n = len(ll)
    log_prior_mass = math.log(n * delta / (1.0 - delta))
    log_delta, log_one_minus = math.log(delta), math.log1p(-delta)
    log_p = harmonic_mean_log_marginal(ll)
    for _ in range(max_iter):
        log_denominators = np.logaddexp(log_delta, log_one_minus + ll - log_p)
        numerator = np.logaddexp(log_prior_mass + log_p, logsumexp(ll - log_denominators))
        denominator = np.logaddexp(log_prior_mass, logsumexp(-log_denominators))
        updated = float(numerator - denominator)
        if abs(updated - log_p) < tol:
            return updated
        log_p = updated
    return log_p


class StabilizedHarmonicMean(PosteriorSamplingEstimator):
    """Newton & Raftery's stabilised harmonic mean over posterior samples.

    Parameters
    ----------
    delta : float, default 0.01
        Share of imagined draws from the prior (Newton & Raftery 1994, eq. 13).
    n_iter, thin, n_burnin, sampler, n_leapfrog, random_state
        The posterior chain (:class:`~phylo_vi.marginal.posterior_sampling.PosteriorSamplingEstimator`).

    Attributes
    ----------
    n_samples_ : int
        Posterior samples the estimate uses (logged rows after burn-in).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "shm"
    label = "SHM"

    parameter_constraints = {**PosteriorSamplingEstimator.parameter_constraints,
                             "delta": [Interval(float, 0.0, 1.0, closed="neither")]}

    def __init__(self, *, delta: float = 0.01, n_iter: int = 1_000_000, thin: int = 1000, n_burnin: int = 100,
                 sampler: str = "mh", n_leapfrog: int = 10, random_state=None):
        self.delta = delta
        super().__init__(n_iter=n_iter, thin=thin, n_burnin=n_burnin, sampler=sampler, n_leapfrog=n_leapfrog,
                         random_state=random_state)

    def _estimate(self, problem, rng):
        sample = self._sample_posterior(problem, rng)
        return stabilized_harmonic_mean_log_marginal(sample.log_likelihood, self.delta), None
