"""``BL``: Beta' (beta prime) Laplus (Fourment et al. 2020, spec section 3.1).

log Z ≈ f(b̂) − Σ_i log BetaPrime(b̂_i; α_i, β_i), parameters from
:func:`phylo_vi.marginal.laplus.beta_prime_parameters`. MAP precision 1e-7. Deterministic.
"""
from __future__ import annotations

from phylo_vi.base import POSITIVE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.laplus import (beta_prime_log_density, beta_prime_parameters, fit_map_curvature,
                                      laplus_log_marginal)


class BetaPrimeLaplus(MarginalEstimator):
    """Product-of-Beta' Laplace-like approximation at the MAP.

    Parameters
    ----------
    tol : float, default 1e-7
        Convergence tolerance of the MAP fit whose curvature the approximation uses.

    Attributes
    ----------
    alpha_, beta_ : ndarray of shape (n_branches,)
        The Beta' of each branch, matched to the MAP and the curvature there.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "bl"
    label = "BL"
    deterministic = True

    parameter_constraints = {"tol": POSITIVE}

    def __init__(self, *, tol: float = 1e-7):
        self.tol = tol

    def _estimate(self, problem, rng):
        fit = fit_map_curvature(problem, self.tol)
        self.alpha_, self.beta_ = beta_prime_parameters(problem, fit)
        return laplus_log_marginal(fit, beta_prime_log_density(fit.mode, self.alpha_, self.beta_)), None
