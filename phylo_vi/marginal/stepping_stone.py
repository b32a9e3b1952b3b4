"""Stepping-stone sampling (Xie, Lewis, Fan, Kuo & Chen 2011, Syst. Biol. 60:150, eq. 8).

With inverse temperatures 0 = β_0 < … < β_{K−1} = 1 and samples ℓ_{k−1,j} = log p(D | b_j) of the
power posterior p_{β_{k−1}} ∝ p(D | b)^{β_{k−1}} p(b),

    log Z = Σ_{k=1}^{K−1} log (1/n) Σ_j exp((β_k − β_{k−1}) ℓ_{k−1,j}),

each term computed with its own maximum subtracted (physher ``log_marginal_stepping_stone``).
The standard error adds the delta-method variances of the K − 1 ratio estimates, each from the
batch-means variance of its weights (the chains of different steps are treated as independent).
"""
from __future__ import annotations

import math

import numpy as np

from phylo_vi.marginal.mcse import batch_means_variance
from phylo_vi.marginal.power_posterior import PowerPosteriorEstimator


def stepping_stone_log_marginal(betas: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """``(log Ẑ, se)`` from ascending ``betas`` (K,) and per-step samples ``values`` (K, n).

    ``values[k]`` holds the tempered quantity (ℓ for SS, ℓ + log p(b) − log q(b) for GSS) at
    samples of the power posterior at ``betas[k]``; the last row (β = 1) is not used.
    """
    betas = np.asarray(betas, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    total, variance = 0.0, 0.0
    for k in range(1, len(betas)):
        scaled = (betas[k] - betas[k - 1]) * values[k - 1]
        top = float(scaled.max())
        weights = np.exp(scaled - top)
        mean = float(weights.mean())
        total += top + math.log(mean)
        variance += batch_means_variance(weights) / mean**2
    return total, math.sqrt(variance)


class SteppingStone(PowerPosteriorEstimator):
    """Stepping-stone estimate over the Beta(0.3, 1) ladder of warm-started power posteriors.

    Parameters
    ----------
    n_steps, alpha, n_iter, thin, n_burnin, sampler, n_leapfrog, n_runs, random_state
        The power-posterior ladder (:class:`~phylo_vi.marginal.power_posterior.PowerPosteriorEstimator`).

    Attributes
    ----------
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "ss"
    label = "SS"

    def _estimate(self, problem, rng):
        ladder = self._run_ladder(problem, rng)
        return stepping_stone_log_marginal(ladder.betas, ladder.log_likelihood)
