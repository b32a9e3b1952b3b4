"""Path sampling / thermodynamic integration (Lartillot & Philippe 2006, Syst. Biol. 55:195, eq. 17).

log Z = ∫_0^1 E_β[ℓ(b)] dβ, integrated by the trapezoid rule over the ladder:
Σ_k (β_k − β_{k−1}) (E_k + E_{k−1}) / 2 with E_k the mean log-likelihood under the power
posterior at β_k. The standard error propagates the batch-means variances of the E_k.
"""
from __future__ import annotations

import math

import numpy as np

from phylo_vi.marginal.mcse import batch_means_variance
from phylo_vi.marginal.power_posterior import PowerPosteriorEstimator


def trapezoid_weights(betas: np.ndarray) -> np.ndarray:
    """Weights c_k with Σ_k c_k E_k equal to the trapezoid rule over ``betas`` (ascending)."""
    betas = np.asarray(betas, dtype=np.float64)
    widths = np.diff(betas)
    weights = np.zeros_like(betas)
    weights[:-1] += widths / 2.0
    weights[1:] += widths / 2.0
    return weights


def path_sampling_log_marginal(betas: np.ndarray, log_likelihoods: np.ndarray) -> tuple[float, float]:
    """``(log Ẑ, se)`` by the trapezoid rule over ascending ``betas`` (K,), samples (K, n)."""
    log_likelihoods = np.asarray(log_likelihoods, dtype=np.float64)
    weights = trapezoid_weights(betas)
    means = log_likelihoods.mean(axis=1)
    variances = np.array([batch_means_variance(row) for row in log_likelihoods])
    return float(np.dot(weights, means)), math.sqrt(float(np.dot(weights**2, variances)))


class PathSampling(PowerPosteriorEstimator):
    """Thermodynamic integration of the mean log-likelihood over the power-posterior ladder.

    Parameters
    ----------
    n_steps, alpha, n_iter, thin, n_burnin, sampler, n_leapfrog, n_runs, random_state
        The power-posterior ladder (:class:`~phylo_vi.marginal.power_posterior.PowerPosteriorEstimator`).

    Attributes
    ----------
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "ps"
    label = "PS"

    def _estimate(self, problem, rng):
        ladder = self._run_ladder(problem, rng)
        return path_sampling_log_marginal(ladder.betas, ladder.log_likelihood)
