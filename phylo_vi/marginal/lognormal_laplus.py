"""``LL``: log-normal Laplus (Fourment et al. 2020, spec section 3.1).

σ_i = sqrt(−1 / (f''_i b̂_i²)), μ_i = log b̂_i + σ_i² (mode at the MAP, curvature matched); a
branch with b̂_i < 1e-6, f''_i ≥ 0 or μ_i > 5 falls back to the gamma Laplus density, as in
physher. log Z ≈ f(b̂) − Σ_i log q_i(b̂_i). MAP precision 1e-7. Deterministic.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.base import POSITIVE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.laplus import (BOUNDARY, fit_map_curvature, gamma_log_density, gamma_parameters,
                                      laplus_log_marginal, lognormal_log_density)


class LognormalLaplus(MarginalEstimator):
    """Product-of-log-normals Laplace-like approximation at the MAP (gamma on boundary branches).

    Parameters
    ----------
    tol : float, default 1e-7
        Convergence tolerance of the MAP fit whose curvature the approximation uses.

    Attributes
    ----------
    mu_, sigma_ : ndarray of shape (n_branches,)
        The log-normal of each branch, matched to the MAP and the curvature there.
    lognormal_ : ndarray of bool, shape (n_branches,)
        Branches approximated by the log-normal (the others by the gamma).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "ll"
    label = "LL"
    deterministic = True

    parameter_constraints = {"tol": POSITIVE}

    def __init__(self, *, tol: float = 1e-7):
        self.tol = tol

    def _estimate(self, problem, rng):
        fit = fit_map_curvature(problem, self.tol)
        mode, second = fit.mode, fit.second
        interior = (mode >= BOUNDARY) & (second < 0.0)
        sigma = np.sqrt(-1.0 / np.where(interior, second * mode**2, -1.0))
        mu = np.log(mode) + sigma**2
        lognormal = interior & (mu <= 5.0)
        log_q = lognormal_log_density(mode, mu, sigma)
        if not np.all(lognormal):
            shape, rate = gamma_parameters(problem, fit)
            log_q = np.where(lognormal, log_q, gamma_log_density(mode, shape, rate))
        self.mu_, self.sigma_, self.lognormal_ = mu, sigma, lognormal
        return laplus_log_marginal(fit, log_q), None
