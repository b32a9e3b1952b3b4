"""Log pointwise predictive density (Gelman, Hwang & Vehtari 2014, Stat. Comput. 24:997, eq. 5).

lppd = Σ_s w_s log[(1/N) Σ_j p(y_s | b_j)] over posterior samples b_j and site patterns s with
counts w_s; the ``PPD`` (pipeline id ``LPPD``) estimator of Fourment et al. 2020 (spec row 14).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from phylo_vi.marginal.posterior_sampling import PosteriorSamplingEstimator


def lppd_log_marginal(pattern_log_likelihoods: np.ndarray, weights: np.ndarray) -> float:
    """Σ_s w_s log mean_j p(y_s | b_j) from per-pattern log-likelihoods (N, P)."""
    site = np.asarray(pattern_log_likelihoods, dtype=np.float64)
    log_mean = logsumexp(site, axis=0) - math.log(site.shape[0])
    return float(np.dot(np.asarray(weights, dtype=np.float64), log_mean))


class PosteriorPredictive(PosteriorSamplingEstimator):
    """Log pointwise posterior predictive density of the alignment.

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

    name = "ppd"
    label = "PPD"

    def _estimate(self, problem, rng):
        sample = self._sample_posterior(problem, rng)
        site = problem.pattern_log_likelihoods(sample.branch_lengths)
        return lppd_log_marginal(site, problem.weights), None
