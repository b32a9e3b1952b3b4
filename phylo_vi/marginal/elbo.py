"""``ELBO``: the evidence lower bound of the fitted mean-field log-normal q as log Z (Fourment et
al. 2020, spec row 8: the last 100-draw ELBO estimate printed by the optimiser).

ELBO = log Z − KL(q ‖ posterior) ≤ log Z, so this estimate is biased downwards by the KL of the
mean-field fit. Settings of :func:`phylo_vi.marginal.variational.fit_mean_field_lognormal`.
"""
from __future__ import annotations

from phylo_vi.base import COUNT, NON_NEGATIVE, POSITIVE, RANDOM_STATE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.variational import fit_mean_field_lognormal


class EvidenceLowerBound(MarginalEstimator):
    """Final ELBO of mean-field log-normal variational Bayes.

    Parameters
    ----------
    eta : float, default 0.1
        η of ADVI's step size η k^(−1/2) / (1 + sqrt(s_k)) (module docstring of
        :mod:`phylo_vi.marginal.variational`).
    max_iter : int, default 1_000_000
        Most gradient steps.
    check_every : int, default 100
        Steps between ELBO evaluations for the stopping rule.
    elbo_draws : int, default 100
        Monte Carlo draws per ELBO evaluation.
    tol : float, default 1e-3
        Stop when the median relative ELBO change of the checks so far is below ``tol`` for
        the fourth time.
    random_state : None, int or numpy Generator
        Seeds the gradient and ELBO draws.

    Attributes
    ----------
    variational_ : VariationalFit
        The fitted mean-field log-normal q (:mod:`phylo_vi.marginal.variational`).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "elbo"
    label = "ELBO"

    parameter_constraints = {"eta": POSITIVE, "max_iter": COUNT, "check_every": COUNT, "elbo_draws": COUNT,
                             "tol": NON_NEGATIVE, "random_state": RANDOM_STATE}

    def __init__(self, *, eta: float = 0.1, max_iter: int = 1_000_000, check_every: int = 100,
                 elbo_draws: int = 100, tol: float = 1e-3, random_state=None):
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
        return self.variational_.elbo, None
