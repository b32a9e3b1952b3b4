"""``GLIS``: importance sampling from the gamma Laplus approximation (Fourment et al. 2020,
spec row 6; physher ``vbis.c`` with ``normalize: false``).

q(b) = Π_i Gamma(b_i; α_i, β_i) fitted by :mod:`phylo_vi.marginal.gamma_laplus` at a MAP of
precision 1e-3; log Z ≈ LSE_j[ℓ(x_j) + log p(x_j) − log q(x_j)] − log N with N = 10,000 draws.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.base import COUNT, POSITIVE, RANDOM_STATE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.importance import importance_sampling_log_marginal
from phylo_vi.marginal.laplus import fit_map_curvature, gamma_log_density, gamma_parameters


class GammaLaplusImportanceSampling(MarginalEstimator):
    """Importance sampling with the product-of-gammas Laplus proposal.

    Parameters
    ----------
    n_samples : int, default 10_000
        Draws from the proposal.
    tol : float, default 1e-3
        Convergence tolerance of the MAP fit that centres the proposal.
    random_state : None, int or numpy Generator
        Seeds the draws.

    Attributes
    ----------
    shape_, rate_ : ndarray of shape (n_branches,)
        The gamma proposal of each branch.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "glis"
    label = "GLIS"

    parameter_constraints = {"n_samples": COUNT, "tol": POSITIVE, "random_state": RANDOM_STATE}

    def __init__(self, *, n_samples: int = 10_000, tol: float = 1e-3, random_state=None):
        self.n_samples = n_samples
        self.tol = tol
        self.random_state = random_state

    def _estimate(self, problem, rng):
        fit = fit_map_curvature(problem, self.tol)
        shape, rate = gamma_parameters(problem, fit)
        draws = rng.gamma(shape, 1.0 / rate, size=(self.n_samples, len(shape)))
        draws = np.maximum(draws, np.finfo(float).tiny)
        log_q = gamma_log_density(draws, shape, rate).sum(axis=1)
        log_weights = problem.log_likelihood_batch(draws) + problem.log_prior(draws) - log_q
        self.shape_, self.rate_ = shape, rate
        return importance_sampling_log_marginal(log_weights)
