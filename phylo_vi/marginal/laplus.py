"""Laplus: Laplace-like approximations on the positive half-line (Fourment et al. 2020; physher
``laplace.c``, 4ment/laplus ``laplus.c``; spec section 3.1).

The posterior of each branch is approximated by a positive density q_i whose mode is the MAP b̂_i
and whose log-density curvature at the mode equals the diagonal second derivative f''_i of
f = ℓ + log p there (off-diagonal terms ignored); then Z = p(D, b̂) / q(b̂), i.e.

    log Z ≈ f(b̂) − Σ_i log q_i(b̂_i).

Families and moment matching (shape α, rate β unless stated):

- Gamma: β_i = −f''_i b̂_i, α_i = 1 + β_i b̂_i;
- Beta' (density x^{α−1} (1+x)^{−α−β} / B(α, β)): α_i = 1 − f''_i b̂_i² (b̂_i + 1),
  β_i = −f''_i b̂_i (b̂_i + 1) − 1;
- log-normal: σ_i = sqrt(−1 / (f''_i b̂_i²)), μ_i = log b̂_i + σ_i².

Boundary branches (b̂_i < 1e-6 or f''_i ≥ 0, where the mode is not interior) follow physher:
start from an exponential with rate |f'_i| (gamma α = 1) or the Beta' with α = 1,
β = |f'_i| − 1, then refit the free shape by Brent's method to the profile of f at 10
log-spaced points from b̂_i to 0.5 (other branches at the MAP). physher compares *densities*
with log-posterior differences in that least-squares fit; here both sides are log-densities
relative to their maximum over the 10 points (a deliberate correction, it only changes
boundary branches).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import betaln, gammaln

from phylo_vi.marginal.optimize import OptimizationResult, maximize_branch_lengths

BOUNDARY = 1e-6
N_PROFILE_POINTS = 10


@dataclass
class LaplusFit:
    """MAP, f at the MAP, its gradient and diagonal second derivatives."""

    map: OptimizationResult
    gradient: np.ndarray
    second: np.ndarray

    @property
    def mode(self) -> np.ndarray:
        return self.map.branch_lengths


def fit_map_curvature(problem, tol: float) -> LaplusFit:
    """MAP by L-BFGS-B, then f'(b̂) and the diagonal f''(b̂) from the engine (prior is linear)."""
    result = maximize_branch_lengths(problem, include_prior=True, tol=tol)
    _, gradient, second = problem.hessian_diagonal(result.branch_lengths)
    return LaplusFit(result, gradient - problem.prior_rate, second)


def gamma_log_density(x, shape, rate):
    return shape * np.log(rate) - gammaln(shape) + (shape - 1.0) * np.log(x) - rate * x


def beta_prime_log_density(x, alpha, beta):
    return (alpha - 1.0) * np.log(x) - (alpha + beta) * np.log1p(x) - betaln(alpha, beta)


def lognormal_log_density(x, mu, sigma):
    z = (np.log(x) - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * np.log(2.0 * np.pi) - np.log(x)


def _profile(problem, fit: LaplusFit, branch: int) -> tuple[np.ndarray, np.ndarray] | None:
    """f at 10 log-spaced values of one branch (others at the MAP), relative to its maximum."""
    mode = fit.mode
    low = max(mode[branch], 1e-8)
    if low >= 0.5:
        return None
    points = np.logspace(np.log10(low), np.log10(0.5), N_PROFILE_POINTS)
    grid = np.repeat(mode[None, :], N_PROFILE_POINTS, axis=0)
    grid[:, branch] = points
    values = problem.log_likelihood_batch(grid) + problem.log_prior(grid)
    if not np.all(np.isfinite(values)):
        return None
    return points, values - values.max()


def _least_squares(log_density, points, target, bounds) -> float:
    def loss(parameter: float) -> float:
        values = log_density(points, parameter)
        return float(np.sum((values - values.max() - target) ** 2))

    return float(minimize_scalar(loss, bounds=bounds, method="bounded").x)


def gamma_parameters(problem, fit: LaplusFit) -> tuple[np.ndarray, np.ndarray]:
    """Per-branch (shape, rate) of the gamma Laplus approximation (module docstring)."""
    mode, slope, second = fit.mode, fit.gradient, fit.second
    shape = np.empty_like(mode)
    rate = np.empty_like(mode)
    for i in range(len(mode)):
        if mode[i] < BOUNDARY or second[i] >= 0.0:
            shape[i], rate[i] = 1.0, max(abs(slope[i]), 1e-8)
            profile = _profile(problem, fit, i)
            if profile is not None:
                r = rate[i]
                shape[i] = _least_squares(lambda x, a: gamma_log_density(x, a, r), *profile, (0.001, 1.0))
            continue
        rate[i] = -second[i] * mode[i]
        shape[i] = 1.0 + rate[i] * mode[i]
        if shape[i] / rate[i] ** 2 > 0.1 and mode[i] < 1e-4:
            profile = _profile(problem, fit, i)
            if profile is not None:
                m = mode[i]
                shape[i] = _least_squares(lambda x, a: gamma_log_density(x, a, (a - 1.0) / m), *profile, (1.0, 100.0))
                rate[i] = (shape[i] - 1.0) / m if shape[i] > 1.0 else max(abs(slope[i]), 1e-8)
    return shape, rate


def beta_prime_parameters(problem, fit: LaplusFit) -> tuple[np.ndarray, np.ndarray]:
    """Per-branch (α, β) of the Beta' Laplus approximation (module docstring)."""
    mode, slope, second = fit.mode, fit.gradient, fit.second
    alpha = 1.0 - second * mode**2 * (mode + 1.0)
    beta = -second * mode * (mode + 1.0) - 1.0
    for i in range(len(mode)):
        if mode[i] < BOUNDARY or second[i] >= 0.0 or beta[i] < 0.0:
            alpha[i], beta[i] = 1.0, abs(slope[i]) - 1.0
            if beta[i] < 2.0:
                profile = _profile(problem, fit, i)
                m = mode[i]
                if profile is not None:
                    beta[i] = _least_squares(lambda x, b: beta_prime_log_density(x, m * (b + 1.0) + 1.0, b),
                                             *profile, (2.0, 100.0))
                else:
                    beta[i] = 2.0
                alpha[i] = m * (beta[i] + 1.0) + 1.0
    return alpha, beta


def laplus_log_marginal(fit: LaplusFit, log_q_at_mode: np.ndarray) -> float:
    """f(b̂) − Σ_i log q_i(b̂_i)."""
    return float(fit.map.value - np.sum(log_q_at_mode))
