"""Maximum-likelihood and maximum-a-posteriori branch lengths by L-BFGS-B with analytic gradients.

physher maximises one branch at a time with Brent's method until the improvement falls below a
``precision`` (Fourment et al. 2020, spec section 2.1); here all branches move together by
L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, SIAM J. Sci. Comput. 16:1190) using the likelihood
engine's gradient, inside physher's bounds [1e-8, 10]. ``tol`` plays the role of the precision:
the run stops when the objective improves by less than ``tol`` or the projected gradient is
below ``tol``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

BRANCH_LENGTH_BOUNDS = (1e-8, 10.0)


@dataclass
class OptimizationResult:
    """Maximiser, objective value (ℓ or ℓ + log p) and log-likelihood there."""

    branch_lengths: np.ndarray
    value: float
    log_likelihood: float
    n_iterations: int


def maximize_branch_lengths(problem, *, include_prior: bool, tol: float = 1e-5,
                            start: np.ndarray | None = None, max_iter: int = 10_000) -> OptimizationResult:
    """Maximise ℓ(b) (``include_prior=False``) or ℓ(b) + log p(b) over b in [1e-8, 10]^B."""
    x0 = problem.initial_branch_lengths() if start is None else np.clip(start, *BRANCH_LENGTH_BOUNDS)

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        ll, gradient = problem.log_likelihood_gradient(x)
        if include_prior:
            ll = ll + problem.log_prior(x)
            gradient = gradient - problem.prior_rate
        return -ll, -gradient

    first = abs(negative(x0)[0])
    result = minimize(negative, x0, jac=True, method="L-BFGS-B", bounds=[BRANCH_LENGTH_BOUNDS] * len(x0),
                      options={"maxiter": max_iter, "ftol": tol / max(first, 1.0), "gtol": tol,
                               "maxcor": 20})
    best = np.clip(result.x, *BRANCH_LENGTH_BOUNDS)
    log_likelihood = problem.log_likelihood(best)
    value = log_likelihood + (problem.log_prior(best) if include_prior else 0.0)
    return OptimizationResult(best, float(value), float(log_likelihood), int(result.nit))
