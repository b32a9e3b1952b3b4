"""Modified path sampling (Friel, Hurn & Wyse 2014, Stat. Comput. 24:709, eq. 4).

The trapezoid rule of path sampling is corrected with the variances V_k of the log-likelihood
under each power posterior (the derivative of E_β is V_β):

    log Z ≈ Σ_k [ (β_k − β_{k−1}) (E_k + E_{k−1}) / 2 − (β_k − β_{k−1})² (V_k − V_{k−1}) / 12 ].

Pipeline id ``PS2`` in Fourment et al. 2020. The reported standard error is that of the
trapezoid part (the correction's own Monte Carlo error is of higher order in the step widths).
"""
from __future__ import annotations

import numpy as np

from phylo_vi.marginal.path_sampling import path_sampling_log_marginal
from phylo_vi.marginal.power_posterior import PowerPosteriorEstimator


def modified_path_sampling_log_marginal(betas: np.ndarray, log_likelihoods: np.ndarray) -> tuple[float, float]:
    """``(log Ẑ, se)``: the trapezoid estimate minus Σ_k Δβ_k² (V_k − V_{k−1}) / 12."""
    betas = np.asarray(betas, dtype=np.float64)
    log_likelihoods = np.asarray(log_likelihoods, dtype=np.float64)
    trapezoid, standard_error = path_sampling_log_marginal(betas, log_likelihoods)
    variances = log_likelihoods.var(axis=1, ddof=1)
    correction = float(np.sum(np.diff(betas) ** 2 * np.diff(variances)) / 12.0)
    return trapezoid - correction, standard_error


class ModifiedPathSampling(PowerPosteriorEstimator):
    """Path sampling with the Friel–Hurn–Wyse variance correction of the trapezoid rule.

    Parameters
    ----------
    n_steps, alpha, n_iter, thin, n_burnin, sampler, n_leapfrog, n_runs, random_state
        The power-posterior ladder (:class:`~phylo_vi.marginal.power_posterior.PowerPosteriorEstimator`).

    Attributes
    ----------
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "mps"
    label = "MPS"

    def _estimate(self, problem, rng):
        ladder = self._run_ladder(problem, rng)
        return modified_path_sampling_log_marginal(ladder.betas, ladder.log_likelihood)
