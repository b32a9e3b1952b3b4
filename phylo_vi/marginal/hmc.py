"""Gradient-based sampler: Hamiltonian Monte Carlo on log branch lengths.

The tempered target of :mod:`phylo_vi.marginal.mcmc` (β ℓ + w_prior log p + w_ref log q) is
sampled in y = log b (Jacobian Σ y), where every component is unbounded, with the leapfrog
integrator (Neal 2011, "MCMC using Hamiltonian dynamics", Handbook of MCMC ch. 5, eqs. 5.18–5.20)
driven by the likelihood engine's analytic gradient. The step size is tuned during burn-in by dual
averaging towards acceptance 0.8 (Hoffman & Gelman 2014, JMLR 15:1593, Algorithm 5) and jittered
uniformly in ±20% at every iteration; after the first half of burn-in the diagonal mass matrix is
set to the inverse of the variances of y seen so far (when that half has more than
``MIN_MASS_SAMPLES`` iterations; otherwise the chain keeps the mass matrix it was given). All
updates of a branch vector move every branch, so one iteration costs ``n_leapfrog``
likelihood-and-gradient evaluations.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.kernels import gradient_workspace, plan_gradient
from phylo_vi.marginal.mcmc import ChainSample, TemperedTarget

# layout of the HMC tuning vector
LOG_STEP, LOG_STEP_BAR, H_BAR, N_ADAPT, MU = range(5)
TARGET_ACCEPTANCE = 0.8
#: the mass matrix is estimated from the first half of the warm-up only if that has more samples
MIN_MASS_SAMPLES = 10


def initial_hmc_tuning(n_branches: int, step_size: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Dual-averaging state and unit inverse mass matrix (diagonal)."""
    log_step = math.log(step_size)
    return np.array([log_step, log_step, 0.0, 0.0, math.log(10.0 * step_size)]), np.ones(n_branches)


@njit(cache=True, nogil=True)
def _potential(plan, y, beta, prior_rate, prior_weight, ref_shape, ref_rate, ref_weight, branch, work, grad_y):
    """Log target in y = log b and its gradient (written to ``grad_y``; ``work`` a
    :func:`~phylo_vi.likelihood.kernels.gradient_workspace`); returns (log target, ℓ)."""
    n = y.shape[0]
    for i in range(n):
        if not -300.0 < y[i] < 20.0:  # diverging trajectory: outside any plausible branch length
            return -np.inf, -np.inf
        branch[i] = math.exp(y[i])
    ll = plan_gradient(plan, branch, work.gradient, work.hessian, work.category_gradient, False)
    total = beta * ll
    for i in range(n):
        b = branch[i]
        g = beta * work.gradient[i] - prior_weight * prior_rate
        total += -prior_weight * prior_rate * b + y[i]
        if ref_weight != 0.0:
            total += ref_weight * ((ref_shape[i] - 1.0) * y[i] - ref_rate[i] * b)
            g += ref_weight * ((ref_shape[i] - 1.0) / b - ref_rate[i])
        grad_y[i] = g * b + 1.0
    return total, ll


@njit(cache=True, nogil=True)
def _hmc_chain(plan, y, thin, n_warmup, n_leapfrog, beta, prior_rate, prior_weight, ref_shape, ref_rate,
               ref_weight, tuning, inverse_mass, seed, samples, sample_ll):
    """Fill ``samples`` (rows of branch lengths) and ``sample_ll``; returns the evaluation count."""
    np.random.seed(seed)
    n = y.shape[0]
    branch = np.empty(n)
    grad = np.empty(n)
    grad_new = np.empty(n)
    y_new = np.empty(n)
    momentum = np.empty(n)
    work = gradient_workspace(plan)
    warm_sum = np.zeros(n)
    warm_sq = np.zeros(n)
    n_warm_seen = 0
    log_target, ll = _potential(plan, y, beta, prior_rate, prior_weight, ref_shape, ref_rate, ref_weight,
                                branch, work, grad)
    evaluations = 1
    samples[0] = np.exp(y)
    sample_ll[0] = ll
    iteration = 0
    for row in range(1, samples.shape[0]):
        for _ in range(thin):
            iteration += 1
            warming = iteration <= n_warmup
            step = math.exp(tuning[LOG_STEP] if warming else tuning[LOG_STEP_BAR])
            step *= 0.8 + 0.4 * np.random.random()
            kinetic = 0.0
            for i in range(n):
                momentum[i] = np.random.standard_normal() / math.sqrt(inverse_mass[i])
                kinetic += 0.5 * momentum[i] * momentum[i] * inverse_mass[i]
                y_new[i] = y[i]
                grad_new[i] = grad[i]
            new_target, new_ll = log_target, ll
            for _leap in range(n_leapfrog):
                for i in range(n):
                    momentum[i] += 0.5 * step * grad_new[i]
                    y_new[i] += step * inverse_mass[i] * momentum[i]
                new_target, new_ll = _potential(plan, y_new, beta, prior_rate, prior_weight, ref_shape, ref_rate,
                                                ref_weight, branch, work, grad_new)
                evaluations += 1
                if not math.isfinite(new_target):
                    break
                for i in range(n):
                    momentum[i] += 0.5 * step * grad_new[i]
            new_kinetic = 0.0
            for i in range(n):
                new_kinetic += 0.5 * momentum[i] * momentum[i] * inverse_mass[i]
            log_alpha = new_target - new_kinetic - log_target + kinetic
            if not math.isfinite(log_alpha):
                log_alpha = -np.inf
            if log_alpha >= 0.0 or math.log(np.random.random()) < log_alpha:
                for i in range(n):
                    y[i] = y_new[i]
                    grad[i] = grad_new[i]
                log_target, ll = new_target, new_ll
            if warming:
                alpha = math.exp(min(log_alpha, 0.0))
                tuning[N_ADAPT] += 1.0
                m = tuning[N_ADAPT]
                eta = 1.0 / (m + 10.0)
                tuning[H_BAR] = (1.0 - eta) * tuning[H_BAR] + eta * (TARGET_ACCEPTANCE - alpha)
                tuning[LOG_STEP] = tuning[MU] - math.sqrt(m) / 0.05 * tuning[H_BAR]
                weight = m ** -0.75
                tuning[LOG_STEP_BAR] = weight * tuning[LOG_STEP] + (1.0 - weight) * tuning[LOG_STEP_BAR]
                for i in range(n):
                    warm_sum[i] += y[i]
                    warm_sq[i] += y[i] * y[i]
                n_warm_seen += 1
                if iteration == n_warmup // 2 and n_warm_seen > MIN_MASS_SAMPLES:
                    for i in range(n):
                        mean = warm_sum[i] / n_warm_seen
                        variance = warm_sq[i] / n_warm_seen - mean * mean
                        inverse_mass[i] = min(max(variance, 1e-6), 1e3)
                    tuning[MU] = math.log(10.0) + tuning[LOG_STEP]
                    tuning[H_BAR] = 0.0
                    tuning[N_ADAPT] = 0.0
        samples[row] = np.exp(y)
        sample_ll[row] = ll
    return evaluations


def run_hmc(problem, start: np.ndarray, *, n_iter: int, thin: int, n_burnin: int, n_leapfrog: int,
            rng: np.random.Generator, target: TemperedTarget | None = None,
            tuning: tuple[np.ndarray, np.ndarray] | None = None) -> ChainSample:
    """HMC chain of ``n_iter`` iterations logged every ``thin``; the first ``n_burnin`` logged rows
    (during which the step size and mass matrix adapt) are discarded.

    ``tuning`` = (dual-averaging state, inverse mass) from :func:`initial_hmc_tuning`; it is
    updated in place so that a ladder of chains continues from the previous chain's adaptation.
    """
    target = TemperedTarget() if target is None else target
    n_rows = n_iter // thin + 1
    if n_burnin >= n_rows:
        raise PhyloVIError(f"burn-in of {n_burnin} logged rows leaves no sample of {n_rows}")
    start = np.asarray(start, dtype=np.float64)
    tuning = initial_hmc_tuning(len(start)) if tuning is None else tuning
    state, inverse_mass = tuning
    y = np.log(np.maximum(start, 1e-10))
    shape, rate = target.reference_arrays(len(y))
    samples = np.empty((n_rows, len(y)))
    sample_ll = np.empty(n_rows)
    if state[N_ADAPT] == 0 and state[LOG_STEP] == state[LOG_STEP_BAR]:
        state[MU] = math.log(10.0) + state[LOG_STEP]
    else:  # warm start: restart dual averaging around the previous step size
        state[MU] = math.log(10.0) + state[LOG_STEP_BAR]
        state[LOG_STEP] = state[LOG_STEP_BAR]
        state[H_BAR] = 0.0
        state[N_ADAPT] = 0.0
    evaluations = _hmc_chain(problem.kernel_plan, y, thin, n_burnin * thin, n_leapfrog, float(target.beta),
                             problem.prior_rate, float(target.prior_weight), shape, rate,
                             float(target.reference_weight), state, inverse_mass,
                             int(rng.integers(2**31 - 1)), samples, sample_ll)
    problem.count_evaluations(evaluations)
    return ChainSample(samples[n_burnin:], sample_ll[n_burnin:], np.exp(y), None)
