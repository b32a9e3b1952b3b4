"""Harmonic-mean estimator (Newton & Raftery 1994, J. R. Stat. Soc. B 56:3, eq. 11).

1/Z = E_posterior[1 / p(D | b)], so log Ẑ = log N − LSE_j(−ℓ(b_j)) over posterior samples b_j.
Its variance is often infinite and it is biased upwards in practice (Lartillot & Philippe 2006);
it is kept as one of the 19 of Fourment et al. 2020 (spec row 10: 901 posterior samples).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from phylo_vi.marginal.mcse import batch_means_variance
from phylo_vi.marginal.posterior_sampling import PosteriorSamplingEstimator


def harmonic_mean_log_marginal(log_likelihoods: np.ndarray) -> float:
    """log N − LSE(−ℓ_j)."""
    log_likelihoods = np.asarray(log_likelihoods, dtype=np.float64)
    return math.log(len(log_likelihoods)) - float(logsumexp(-log_likelihoods))


def harmonic_mean_standard_error(log_likelihoods: np.ndarray) -> float:
    """Delta-method standard error of log Ẑ from the batch-means variance of exp(−ℓ)."""
    values = -np.asarray(log_likelihoods, dtype=np.float64)
    scaled = np.exp(values - values.max())
    return math.sqrt(batch_means_variance(scaled)) / float(scaled.mean())


class HarmonicMean(PosteriorSamplingEstimator):
    """Harmonic mean of the likelihood over posterior samples (Newton & Raftery 1994).

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

    name = "hm"
    label = "HM"

    def _estimate(self, problem, rng):
        sample = self._sample_posterior(problem, rng)
        ll = sample.log_likelihood
        return harmonic_mean_log_marginal(ll), harmonic_mean_standard_error(ll)
