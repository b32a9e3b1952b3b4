"""Mean-field log-normal variational Bayes over branch lengths (Fourment et al. 2020, spec 3.2;
physher ``vb.c``/``klqp.c``; Kucukelbir et al. 2017, JMLR 18:1, "ADVI").

q(b) = Π_i LogNormal(b_i; μ_i, σ_i), i.e. y = log b ~ N(μ, diag σ²), maximises

    ELBO = E_q[ℓ(b) + log p(b) + Σ_i log b_i] + Σ_i log σ_i + (B/2)(1 + log 2π)

by stochastic gradient ascent with the reparameterisation b = exp(μ + σ ε), one Monte Carlo
draw per step, and ADVI's step size ρ_k = η k^{−1/2} / (1 + sqrt(s_k)), s_1 = g_1²,
s_k = 0.9 s_{k−1} + 0.1 g_k² (η = 0.1). Every 100 steps the ELBO is estimated with 100 draws and
its relative change stored; the run stops when the median of the stored changes is below
tol = 0.001 for the fourth time, or after 1,000,000 steps. Initialisation at the MAP: with
v = −1/f''_i, σ_i² = log(v / b̂_i² + 1), μ_i = log b̂_i − σ_i²/2; a branch with b̂_i < 1e-6 keeps
μ_i tied to −10 + σ_i² (physher). The loop is one Numba kernel calling the engine's gradient.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from phylo_vi.likelihood.kernels import gradient_workspace, plan_gradient, plan_log_likelihood
from phylo_vi.marginal.laplus import BOUNDARY, fit_map_curvature


@njit(cache=True, nogil=True)
def _elbo_estimate(plan, mu, log_sigma, prior_rate, n_draws):
    n = mu.shape[0]
    branch = np.empty(n)
    total = 0.0
    for _ in range(n_draws):
        value = 0.0
        for i in range(n):
            y = mu[i] + math.exp(log_sigma[i]) * np.random.standard_normal()
            branch[i] = math.exp(y)
            value += y - prior_rate * branch[i]
        total += value + plan_log_likelihood(plan, branch)
    entropy = 0.0
    for i in range(n):
        entropy += log_sigma[i] + 0.5 * (1.0 + math.log(2.0 * math.pi))
    return total / n_draws + n * math.log(prior_rate) + entropy


@njit(cache=True, nogil=True)
def _fit_kernel(plan, mu, log_sigma, tied, prior_rate, eta, max_iter, check_every, elbo_draws, tol, seed, history):
    """Stochastic gradient ascent; returns (iterations, n_checks, evaluations, final ELBO)."""
    np.random.seed(seed)
    n = mu.shape[0]
    branch = np.empty(n)
    eps = np.empty(n)
    work = gradient_workspace(plan)
    s_mu = np.zeros(n)
    s_sigma = np.zeros(n)
    n_checks = 0
    converged = 0
    evaluations = 0
    previous = -np.inf
    elbo = -np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        for i in range(n):
            if tied[i]:
                mu[i] = -10.0 + math.exp(2.0 * log_sigma[i])
            eps[i] = np.random.standard_normal()
            branch[i] = math.exp(mu[i] + math.exp(log_sigma[i]) * eps[i])
        plan_gradient(plan, branch, work.gradient, work.hessian, work.category_gradient, False)
        evaluations += 1
        for i in range(n):
            sigma = math.exp(log_sigma[i])
            dy = (work.gradient[i] - prior_rate) * branch[i] + 1.0
            g_sigma = dy * sigma * eps[i] + 1.0
            if tied[i]:
                g_sigma += dy * 2.0 * sigma * sigma
            if iteration == 1:
                s_mu[i] = dy * dy
                s_sigma[i] = g_sigma * g_sigma
            else:
                s_mu[i] = 0.9 * s_mu[i] + 0.1 * dy * dy
                s_sigma[i] = 0.9 * s_sigma[i] + 0.1 * g_sigma * g_sigma
            step = eta / math.sqrt(iteration)
            if not tied[i]:
                mu[i] += step / (1.0 + math.sqrt(s_mu[i])) * dy
            log_sigma[i] += step / (1.0 + math.sqrt(s_sigma[i])) * g_sigma
        if iteration % check_every == 0:
            elbo = _elbo_estimate(plan, mu, log_sigma, prior_rate, elbo_draws)
            evaluations += elbo_draws
            if math.isfinite(previous) and math.isfinite(elbo) and n_checks < history.shape[0]:
                history[n_checks] = abs((previous - elbo) / elbo)
                n_checks += 1
                if np.median(history[:n_checks]) < tol:
                    converged += 1
                    if converged > 3:
                        break
            previous = elbo
    if iteration % check_every != 0 or not math.isfinite(elbo):
        elbo = _elbo_estimate(plan, mu, log_sigma, prior_rate, elbo_draws)
        evaluations += elbo_draws
    return iteration, n_checks, evaluations, elbo


@dataclass
class VariationalFit:
    """Fitted q (μ, σ on log b; ``tied`` branches have μ = −10 + σ²) and its last ELBO estimate."""

    mu: np.ndarray
    sigma: np.ndarray
    tied: np.ndarray
    elbo: float
    n_iterations: int

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws of b and their log q(b) (log-normal, Jacobian included)."""
        y = self.mu + self.sigma * rng.standard_normal((n, len(self.mu)))
        z = (y - self.mu) / self.sigma
        log_q = np.sum(-0.5 * z * z - np.log(self.sigma) - 0.5 * math.log(2.0 * math.pi) - y, axis=1)
        return np.exp(y), log_q


def fit_mean_field_lognormal(problem, rng: np.random.Generator, *, eta: float = 0.1, max_iter: int = 1_000_000,
                             check_every: int = 100, elbo_draws: int = 100, tol: float = 1e-3,
                             map_tol: float = 1e-5) -> VariationalFit:
    """Fit q by the stochastic gradient ascent of the module docstring, from the MAP."""
    fit = fit_map_curvature(problem, map_tol)
    mode, second = fit.mode, fit.second
    tied = mode < BOUNDARY
    with np.errstate(divide="ignore", invalid="ignore"):
        log_variance = np.log(np.log(-1.0 / second / mode**2 + 1.0))
    log_sigma = 0.5 * log_variance
    mu = np.log(mode) - 0.5 * np.exp(log_variance)
    bad = ~np.isfinite(log_sigma) | ~np.isfinite(mu)
    mu[bad], log_sigma[bad] = 1.0, 0.0
    mu[tied] = -10.0 + np.exp(2.0 * log_sigma[tied])
    history = np.empty(max(1, max_iter // check_every))
    iterations, _, evaluations, elbo = _fit_kernel(problem.kernel_plan, mu, log_sigma, tied, problem.prior_rate,
                                                   eta, max_iter, check_every, elbo_draws, tol,
                                                   int(rng.integers(2**31 - 1)), history)
    problem.count_evaluations(evaluations)
    return VariationalFit(mu, np.exp(log_sigma), tied, float(elbo), int(iterations))
