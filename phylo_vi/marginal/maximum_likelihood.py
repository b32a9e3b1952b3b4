"""``ML``: the maximised log-likelihood max_b log p(D | b, tau) as a stand-in for log Z.

Not an estimator of the marginal likelihood (it ignores the prior volume; Fourment et al. 2020,
spec row 1) but a common proxy for comparing topologies. Deterministic.
"""
from __future__ import annotations

from phylo_vi.base import POSITIVE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.optimize import maximize_branch_lengths


class MaximumLikelihood(MarginalEstimator):
    """max_b ℓ(b) by L-BFGS-B (paper precision 1e-5).

    Parameters
    ----------
    tol : float, default 1e-5
        Convergence tolerance of L-BFGS-B.

    Attributes
    ----------
    branch_lengths_ : ndarray of shape (n_branches,)
        The maximum-likelihood branch lengths.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "ml"
    label = "ML"
    deterministic = True

    parameter_constraints = {"tol": POSITIVE}

    def __init__(self, *, tol: float = 1e-5):
        self.tol = tol

    def _estimate(self, problem, rng):
        result = maximize_branch_lengths(problem, include_prior=False, tol=self.tol)
        self.branch_lengths_ = result.branch_lengths
        return result.value, None
