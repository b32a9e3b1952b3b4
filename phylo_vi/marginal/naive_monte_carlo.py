"""``NMC``: naive Monte Carlo, the prior-weighted average of the likelihood.

Z = E_prior[p(D | b)] ≈ (1/N) Σ_j p(D | b_j), b_j ~ i.i.d. Exponential(λ) (Fourment et al. 2020,
spec row 9, N = 10,000; physher ``mc.c``). Unbiased for Z but of enormous variance once the
posterior is concentrated relative to the prior.
"""
from __future__ import annotations

from phylo_vi.base import COUNT, RANDOM_STATE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.importance import importance_sampling_log_marginal


class NaiveMonteCarlo(MarginalEstimator):
    """Average likelihood over draws from the branch-length prior.

    Parameters
    ----------
    n_samples : int, default 10_000
        Draws from the prior.
    random_state : None, int or numpy Generator
        Seeds the draws.

    Attributes
    ----------
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "nmc"
    label = "NMC"

    parameter_constraints = {"n_samples": COUNT, "random_state": RANDOM_STATE}

    def __init__(self, *, n_samples: int = 10_000, random_state=None):
        self.n_samples = n_samples
        self.random_state = random_state

    def _estimate(self, problem, rng):
        draws = problem.sample_prior(rng, self.n_samples)
        return importance_sampling_log_marginal(problem.log_likelihood_batch(draws))
