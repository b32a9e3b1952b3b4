"""``NS``: nested sampling (Skilling 2006, Bayesian Anal. 1:833; physher ``nest.c``; Fourment et
al. 2020 spec section 3.4).

N live points are drawn from the prior (one chain of the adaptive MH kernel on the prior,
1000 steps between points). At iteration i the worst live point L_w is retired with weight
log w_i = L_w + log(1 − e^{−1/N}) − (i − 1)/N (deterministic shrinkage X_i = e^{−i/N}) and
replaced by a copy of another live point moved by 1000 prior-MCMC steps constrained to
ℓ > L_w. The run stops when a retired point changes log Z by less than 1e-6, or after 100,000
iterations; the live points then add LSE(ℓ_live) − i/N − log N. (physher uses the iteration
*limit* instead of i in that last term, which makes it vanish; the actual count is used here.)
Standard error sqrt(H / N) with H the information (Skilling 2006, section 7).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import logsumexp

from phylo_vi.likelihood.branch_updates import build_branch_cache, cached_log_likelihood, reset_branch_lengths
from phylo_vi.base import COUNT, NON_NEGATIVE, RANDOM_STATE
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.mcmc import initial_tuning, mh_sweep


@njit(cache=True, nogil=True)
def _nested_kernel(cache, plan, prior_rate, n_live, n_mcmc, max_iter, tol, tuning, seed, live, live_ll, dead_ll):
    """Fill ``live``/``live_ll`` and the retired log-likelihoods, starting from the branch lengths
    held by ``cache``; returns (iterations, log Z of the dead)."""
    np.random.seed(seed)
    n = cache.branch_lengths.shape[0]
    ones = np.ones(n)
    ll = cached_log_likelihood(cache)
    for k in range(n_live):
        ll = mh_sweep(cache, plan, ll, n_mcmc, 0.0, prior_rate, 1.0, ones, ones, 0.0, -np.inf, tuning, 0.0)
        live[k] = cache.branch_lengths
        live_ll[k] = ll
    log_shrink = math.log(1.0 - math.exp(-1.0 / n_live))
    log_z = -np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        worst = np.argmin(live_ll)
        threshold = live_ll[worst]
        dead_ll[iteration - 1] = threshold
        log_weight = threshold + log_shrink - (iteration - 1.0) / n_live
        top = max(log_z, log_weight)
        updated = top + math.log(math.exp(log_z - top) + math.exp(log_weight - top))
        change = abs(updated - log_z)
        log_z = updated
        if change < tol:
            live_ll[worst] = -np.inf  # retired, not replaced
            break
        other = worst
        if n_live > 1:
            while other == worst:
                other = np.random.randint(n_live)
        reset_branch_lengths(cache, live[other])
        ll = mh_sweep(cache, plan, live_ll[other], n_mcmc, 0.0, prior_rate, 1.0, ones, ones, 0.0, threshold,
                      tuning, 0.0)
        live[worst] = cache.branch_lengths
        live_ll[worst] = ll
    return iteration, log_z


def nested_sampling_log_marginal(dead_ll: np.ndarray, live_ll: np.ndarray, n_live: int) -> tuple[float, float]:
    """``(log Ẑ, sqrt(H / N))`` from the retired and final live log-likelihoods."""
    i = np.arange(1, len(dead_ll) + 1)
    log_weights = dead_ll + math.log(1.0 - math.exp(-1.0 / n_live)) - (i - 1.0) / n_live
    live_ll = live_ll[np.isfinite(live_ll)]
    live_weights = live_ll - len(dead_ll) / n_live - math.log(n_live)
    all_weights = np.concatenate([log_weights, live_weights])
    all_ll = np.concatenate([dead_ll, live_ll])
    log_z = float(logsumexp(all_weights))
    posterior = np.exp(all_weights - log_z)
    information = float(np.sum(posterior * all_ll) - log_z)
    return log_z, math.sqrt(max(information, 0.0) / n_live)


class NestedSampling(MarginalEstimator):
    """Skilling's nested sampling with constrained prior MCMC replacements.

    Parameters
    ----------
    n_live : int, default 50
        Live points.
    n_mcmc : int, default 1000
        MCMC steps per replacement of the worst live point.
    max_iter : int, default 100_000
        Most iterations (replacements).
    tol : float, default 1e-6
        Stop when a retired point changes log Z by less than ``tol``.
    random_state : None, int or numpy Generator
        Seeds the prior draws and the constrained chains.

    Attributes
    ----------
    n_iterations_ : int
        Iterations (replacements) run.
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    name = "ns"
    label = "NS"

    parameter_constraints = {"n_live": COUNT, "n_mcmc": COUNT, "max_iter": COUNT, "tol": NON_NEGATIVE,
                             "random_state": RANDOM_STATE}

    def __init__(self, *, n_live: int = 50, n_mcmc: int = 1000, max_iter: int = 100_000, tol: float = 1e-6,
                 random_state=None):
        self.n_live = n_live
        self.n_mcmc = n_mcmc
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _estimate(self, problem, rng):
        start = problem.sample_prior(rng, 1)[0]
        live = np.empty((self.n_live, problem.n_branches))
        live_ll = np.empty(self.n_live)
        dead_ll = np.empty(self.max_iter)
        iterations, _ = _nested_kernel(build_branch_cache(problem.kernel_plan, start), problem.kernel_plan,
                                       problem.prior_rate,
                                       self.n_live, self.n_mcmc,
                                       self.max_iter, self.tol, initial_tuning(), int(rng.integers(2**31 - 1)),
                                       live, live_ll, dead_ll)
        problem.count_evaluations(1 + (self.n_live + iterations) * self.n_mcmc)
        self.n_iterations_ = int(iterations)
        return nested_sampling_log_marginal(dead_ll[:iterations], live_ll, self.n_live)
