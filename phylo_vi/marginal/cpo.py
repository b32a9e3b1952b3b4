"""Conditional predictive ordinates (Geisser & Eddy 1979; Lewis et al. 2014, Syst. Biol. 63:309).

CPO_s = p(y_s | y_{−s}) = [ (1/N) Σ_j 1 / p(y_s | b_j) ]^{−1} over posterior samples b_j, and the
"marginal likelihood" of Fourment et al. 2020 (spec row 13) is the pseudo-marginal likelihood
Σ_s w_s log CPO_s, with w_s the site-pattern counts.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from phylo_vi.marginal.posterior_sampling import PosteriorSamplingEstimator


def cpo_log_marginal(pattern_log_likelihoods: np.ndarray, weights: np.ndarray) -> float:
    """Σ_s w_s log CPO_s from per-pattern log-likelihoods, shape (samples N, patterns P)."""
    site = np.asarray(pattern_log_likelihoods, dtype=np.float64)
    log_cpo = math.log(site.shape[0]) - logsumexp(-site, axis=0)
    return float(np.dot(np.asarray(weights, dtype=np.float64), log_cpo))


class ConditionalPredictiveOrdinate(PosteriorSamplingEstimator):
    """Log pseudo-marginal likelihood Σ_s w_s log CPO_s over posterior samples.

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

    name = "cpo"
    label = "CPO"

    def _estimate(self, problem, rng):
        sample = self._sample_posterior(problem, rng)
        site = problem.pattern_log_likelihoods(sample.branch_lengths)
        return cpo_log_marginal(site, problem.weights), None
