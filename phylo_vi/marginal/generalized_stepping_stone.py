"""``GSS``: generalized stepping-stone sampling (Fan, Wu, Chen, Kuo & Lewis 2011, Mol. Biol. Evol.
28:523, eq. 9; Fourment et al. 2020 spec rows 18 and section 2.4).

A posterior chain (1,000,000 iterations, 901 samples) fits the reference q = Π_i Gamma(α_i, β_i)
by the method of moments (α_i = m_i² / v_i, β_i = m_i / v_i). The power posteriors
p_β ∝ [p(D | b) p(b)]^β q(b)^{1−β} are sampled along the 50-step Beta(0.3, 1) ladder without
β = 1, and the stepping-stone formula is applied to g(b) = ℓ(b) + log p(b) − log q(b)
(normalised q); at β = 0 the chain samples q itself.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.marginal.laplus import gamma_log_density
from phylo_vi.marginal.ladder import power_posterior_ladder
from phylo_vi.marginal.posterior_sampling import sample_posterior
from phylo_vi.marginal.power_posterior import PowerPosteriorEstimator
from phylo_vi.marginal.stepping_stone import stepping_stone_log_marginal


def moment_matched_gammas(branch_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-branch gamma (shape, rate) with the sample mean and variance of ``branch_lengths`` (n, B)."""
    mean = branch_lengths.mean(axis=0)
    variance = np.maximum(branch_lengths.var(axis=0, ddof=1), 1e-300)
    return mean**2 / variance, mean / variance


class GeneralizedSteppingStone(PowerPosteriorEstimator):
    """Stepping-stone from a moment-matched gamma reference to the posterior.

    Parameters
    ----------
    n_steps, alpha, n_iter, thin, n_burnin, sampler, n_leapfrog, n_runs, random_state
        The power-posterior ladder (:class:`~phylo_vi.marginal.power_posterior.PowerPosteriorEstimator`);
        the reference is fitted to a posterior chain with the same settings.

    Attributes
    ----------
    reference_shape_, reference_rate_ : ndarray of shape (n_branches,)
        The product-of-gammas reference, moment-matched to the posterior chain.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "gss"
    label = "GSS"

    def _estimate(self, problem, rng):
        posterior = sample_posterior(problem, sampler=self.sampler, n_iter=self.n_iter, thin=self.thin,
                                     n_burnin=self.n_burnin, n_leapfrog=self.n_leapfrog, rng=rng)
        self._report_progress(1.0 / self.n_steps)  # the posterior chain costs as much as one ladder step
        shape, rate = moment_matched_gammas(posterior.branch_lengths)
        self.reference_shape_, self.reference_rate_ = shape, rate
        betas = power_posterior_ladder(self.n_steps, self.alpha)[:-1]
        ladder = self._run_ladder(problem, rng, reference=(shape, rate), betas=betas,
                                  start=posterior.final_state)
        g = (ladder.log_likelihood + problem.log_prior(ladder.branch_lengths)
             - gamma_log_density(ladder.branch_lengths, shape, rate).sum(axis=-1))
        full_betas = np.append(betas, 1.0)
        values = np.concatenate([g, np.zeros((1, g.shape[1]))])
        return stepping_stone_log_marginal(full_betas, values)
