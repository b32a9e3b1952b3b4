"""``GL``: gamma Laplus (Fourment et al. 2020, spec section 3.1; physher ``laplace.c``).

log Z ≈ f(b̂) − Σ_i log Gamma(b̂_i; α_i, β_i) with the gammas of
:func:`phylo_vi.marginal.laplus.gamma_parameters` (mode at the MAP, curvature matched to the
diagonal second derivative). MAP precision 1e-7 as in the paper. Deterministic.
"""
from __future__ import annotations

from phylo_vi.base import POSITIVE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.laplus import fit_map_curvature, gamma_log_density, gamma_parameters, laplus_log_marginal


class GammaLaplus(MarginalEstimator):
    """Product-of-gammas Laplace-like approximation at the MAP.

    Parameters
    ----------
    tol : float, default 1e-7
        Convergence tolerance of the MAP fit whose curvature the approximation uses.

    Attributes
    ----------
    shape_, rate_ : ndarray of shape (n_branches,)
        The gamma of each branch, matched to the MAP and the curvature there.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "gl"
    label = "GL"
    deterministic = True

    parameter_constraints = {"tol": POSITIVE}

    def __init__(self, *, tol: float = 1e-7):
        self.tol = tol

    def _estimate(self, problem, rng):
        fit = fit_map_curvature(problem, self.tol)
        self.shape_, self.rate_ = gamma_parameters(problem, fit)
        return laplus_log_marginal(fit, gamma_log_density(fit.mode, self.shape_, self.rate_)), None
