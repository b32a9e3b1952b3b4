"""``BS``: bridge sampling with the optimal bridge (Meng & Wong 1996, Stat. Sin. 6:831, eq. 4.1;
physher ``bridge.c``; Fourment et al. 2020 spec section 3.3).

The posterior samples are split: the first ⌊n/2⌋ fit a multivariate normal g on y = log b; the
remaining n₁ posterior draws and n₂ = ⌊n/2⌋ draws from g enter the bridge. With
l(y) = ℓ(e^y) + log p(e^y) + Σ y − log g(y), s₁ = n₁/(n₁+n₂), s₂ = n₂/(n₁+n₂) and l* = median
of l at the posterior draws, the ratio r = Z e^{−l*} is the fixed point of

    r ← [(1/n₂) Σ_j e^{l2_j−l*} / (s₁ e^{l2_j−l*} + s₂ r)] / [(1/n₁) Σ_i 1 / (s₁ e^{l1_i−l*} + s₂ r)],

started at the harmonic mean, stopped at |Δ log r| < 1e-4 (≤ 10,000 iterations). The standard
error is Frühwirth-Schnatter's (2004, Econometrics J. 7:143, eq. 15) approximate relative MSE,
with the posterior term inflated by the batch-means autocorrelation factor.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from phylo_vi.marginal.harmonic_mean import harmonic_mean_log_marginal
from phylo_vi.marginal.mcse import batch_means_variance
from phylo_vi.marginal.posterior_sampling import PosteriorSamplingEstimator


def _log_normal_density(y: np.ndarray, mean: np.ndarray, cholesky: np.ndarray) -> np.ndarray:
    z = np.linalg.solve(cholesky, (y - mean).T)
    log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
    return -0.5 * np.sum(z * z, axis=0) - 0.5 * log_det - 0.5 * mean.size * math.log(2.0 * math.pi)


def optimal_bridge(l1: np.ndarray, l2: np.ndarray, initial_log_z: float, tol: float = 1e-4,
                   max_iter: int = 10_000) -> tuple[float, float]:
    """``(log Ẑ, relative-MSE standard error)`` from l at posterior (l1) and proposal (l2) draws."""
    n1, n2 = len(l1), len(l2)
    log_s1, log_s2 = math.log(n1 / (n1 + n2)), math.log(n2 / (n1 + n2))
    l_star = float(np.median(l1))
    a1, a2 = l1 - l_star, l2 - l_star
    log_r = initial_log_z - l_star
    for _ in range(max_iter):
        numerator = logsumexp(a2 - np.logaddexp(log_s1 + a2, log_s2 + log_r)) - math.log(n2)
        denominator = logsumexp(-np.logaddexp(log_s1 + a1, log_s2 + log_r)) - math.log(n1)
        updated = float(numerator - denominator)
        if abs(updated - log_r) < tol:
            log_r = updated
            break
        log_r = updated
    log_z = log_r + l_star
    # f1 = 1 / (s1 w1 + s2), f2 = w2 / (s1 w2 + s2) with w = exp(l − log Ẑ), in log space
    f1 = np.exp(-np.logaddexp(log_s1 + l1 - log_z, log_s2))
    f2 = np.exp(l2 - log_z - np.logaddexp(log_s1 + l2 - log_z, log_s2))
    relative = np.var(f2, ddof=1) / (n2 * np.mean(f2) ** 2) + batch_means_variance(f1) / np.mean(f1) ** 2
    return log_z, math.sqrt(float(relative))


class BridgeSampling(PosteriorSamplingEstimator):
    """Optimal bridge between the posterior and a normal fitted on log branch lengths.

    Parameters
    ----------
    n_iter, thin, n_burnin, sampler, n_leapfrog, random_state
        The posterior chain (:class:`~phylo_vi.marginal.posterior_sampling.PosteriorSamplingEstimator`).

    Attributes
    ----------
    n_samples_ : int
        Posterior samples the estimate uses (logged rows after burn-in).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "bs"
    label = "BS"

    def _estimate(self, problem, rng):
        sample = self._sample_posterior(problem, rng)
        n_fit = len(sample.log_likelihood) // 2
        y = np.log(sample.branch_lengths)
        mean = y[:n_fit].mean(axis=0)
        covariance = np.cov(y[:n_fit], rowvar=False).reshape(len(mean), len(mean))
        cholesky = np.linalg.cholesky(covariance + 1e-10 * np.eye(len(mean)))
        y1 = y[n_fit:]
        y2 = mean + rng.standard_normal((n_fit, len(mean))) @ cholesky.T
        b2 = np.exp(y2)
        l1 = (sample.log_likelihood[n_fit:] + problem.log_prior(sample.branch_lengths[n_fit:]) + y1.sum(axis=1)
              - _log_normal_density(y1, mean, cholesky))
        l2 = (problem.log_likelihood_batch(b2) + problem.log_prior(b2) + y2.sum(axis=1)
              - _log_normal_density(y2, mean, cholesky))
        initial = harmonic_mean_log_marginal(sample.log_likelihood)
        return optimal_bridge(l1, l2, initial)
