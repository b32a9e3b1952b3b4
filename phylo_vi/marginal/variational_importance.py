"""``VBIS``: importance sampling from the fitted mean-field log-normal q (Fourment et al. 2020,
spec row 7; physher ``vbis.c``).

log Z ≈ LSE_j[ℓ(x_j) + log p(x_j) − log q(x_j)] − log N, x_j ~ q, N = 10,000, with log q including
the log-normal Jacobian. q from :func:`phylo_vi.marginal.variational.fit_mean_field_lognormal`.
"""
from __future__ import annotations

from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.importance import importance_sampling_log_marginal
from phylo_vi.marginal.variational import fit_mean_field_lognormal


class VariationalImportanceSampling(MarginalEstimator):
    """Importance sampling with the variational proposal."""

    name = "vbis"
    label = "VBIS"

    def __init__(self, *, n_samples: int = 10_000, eta: float = 0.1, max_iter: int = 1_000_000,
                 check_every: int = 100, elbo_draws: int = 100, tol: float = 1e-3, random_state=None):
        self.n_samples = n_samples
        self.eta = eta
        self.max_iter = max_iter
        self.check_every = check_every
        self.elbo_draws = elbo_draws
        self.tol = tol
        self.random_state = random_state

    def _estimate(self, problem, rng):
        self.variational_ = fit_mean_field_lognormal(problem, rng, eta=self.eta, max_iter=self.max_iter,
                                                     check_every=self.check_every, elbo_draws=self.elbo_draws,
                                                     tol=self.tol)
        draws, log_q = self.variational_.sample(rng, self.n_samples)
        log_weights = problem.log_likelihood_batch(draws) + problem.log_prior(draws) - log_q
        return importance_sampling_log_marginal(log_weights)
