"""``VBIS``: importance sampling from the fitted mean-field log-normal q (Fourment et al. 2020,
spec row 7; physher ``vbis.c``).

log Z ≈ LSE_j[ℓ(x_j) + log p(x_j) − log q(x_j)] − log N, x_j ~ q, N = 10,000, with log q including
the log-normal Jacobian. q from :func:`phylo_vi.marginal.variational.fit_mean_field_lognormal`.
"""
from __future__ import annotations

from phylo_vi.base import COUNT
from phylo_vi.marginal.elbo import EvidenceLowerBound
from phylo_vi.marginal.importance import importance_sampling_log_marginal


class VariationalImportanceSampling(EvidenceLowerBound):
    """Importance sampling with the variational proposal (the ELBO's fit, then N draws from q).

    Parameters
    ----------
    n_samples : int, default 10_000
        Draws from q.
    eta : float, default 0.1
        η of ADVI's step size (:class:`~phylo_vi.marginal.elbo.EvidenceLowerBound`).
    max_iter : int, default 1_000_000
        Most gradient steps.
    check_every : int, default 100
        Steps between ELBO evaluations for the stopping rule.
    elbo_draws : int, default 100
        Monte Carlo draws per ELBO evaluation.
    tol : float, default 1e-3
        Stopping rule of the variational fit (:class:`~phylo_vi.marginal.elbo.EvidenceLowerBound`).
    random_state : None, int or numpy Generator
        Seeds the gradient and ELBO draws.

    Attributes
    ----------
    variational_ : VariationalFit
        The fitted mean-field log-normal q (:mod:`phylo_vi.marginal.variational`).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "vbis"
    label = "VBIS"

    parameter_constraints = {**EvidenceLowerBound.parameter_constraints, "n_samples": COUNT}

    def __init__(self, *, n_samples: int = 10_000, eta: float = 0.1, max_iter: int = 1_000_000,
                 check_every: int = 100, elbo_draws: int = 100, tol: float = 1e-3, random_state=None):
        super().__init__(eta=eta, max_iter=max_iter, check_every=check_every, elbo_draws=elbo_draws, tol=tol,
                         random_state=random_state)
        self.n_samples = n_samples

    def _estimate(self, problem, rng):
        super()._estimate(problem, rng)
        draws, log_q = self.variational_.sample(rng, self.n_samples)
        log_weights = problem.log_likelihood_batch(draws) + problem.log_prior(draws) - log_q
        return importance_sampling_log_marginal(log_weights)
