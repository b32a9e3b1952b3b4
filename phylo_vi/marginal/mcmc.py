"""Adaptive random-scan Metropolis–Hastings over branch lengths (physher ``mcmc.c``/``operator.c``).

Each iteration picks one of two operators with equal weight and applies it to one branch chosen
uniformly at random (Fourment et al. 2020, spec section 2.2):

- scaler: b' = s b, s ~ U(f, 1/f), log Hastings ratio −log s; f starts at 0.9 and after every
  proposal moves towards acceptance 0.24 by ``f ← 1 / (exp(δ + log(1/f − 1)) + 1)``,
  δ = (min(1, α) − 0.24) / (n + 1) (physher ``optimizeScaleFactor``);
- slider: b' = b + (u − 1/2) w reflected at 0, log Hastings ratio 0; w starts at 0.001 and after
  every proposal log w ← log w ± 1/sqrt(n + 1) depending on whether the running acceptance
  rate is above 0.24, kept inside (1e-4, 20) (physher ``tune``).

The target is the general tempered density used by all the samplers of this package,

    log π(b) = β ℓ(b) + w_prior log p(b) + w_ref log q(b),  subject to ℓ(b) > ℓ_min,

with p the i.i.d. Exponential(λ) prior and q an optional product of Gamma(shape_i, rate_i)
reference densities: (β, 1, 0) gives the power posteriors of stepping-stone and path sampling,
(β, β, 1 − β) those of generalized stepping-stone, and (0, 1, 0) with ℓ_min the constrained
prior of nested sampling. The loop is a Numba kernel over the likelihood engine's single-branch
update cache (:mod:`phylo_vi.likelihood.branch_updates`): a proposal costs one pass over the
site patterns, an accepted one the partials on the path to the next branch proposed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from phylo_vi.errors import PhyloVIError
from phylo_vi.likelihood.branch_updates import (accept_branch, branch_log_likelihood, build_branch_cache,
                                                 cached_log_likelihood, reset_branch_lengths)
from phylo_vi.likelihood.kernels import plan_log_likelihood

TARGET_ACCEPTANCE = 0.24
# layout of the tuning-state vector shared by the kernels
(SCALE_FACTOR, WINDOW, SCALER_COUNT, SCALER_ACCEPTED, SLIDER_COUNT, SLIDER_ACCEPTED, TREE_SCALE_FACTOR,
 TREE_SCALER_COUNT) = range(8)


def initial_tuning() -> np.ndarray:
    """physher's initial operator settings: scale factor 0.9, slider window 0.001, no history
    (and scale factor 0.9 for the optional whole-tree scaler)."""
    return np.array([0.9, 0.001, 0.0, 0.0, 0.0, 0.0, 0.9, 0.0])


@njit(cache=True, nogil=True)
def _adapt_scale_factor(tuning, factor_slot, count, alpha):
    """physher ``optimizeScaleFactor``: move the factor f towards acceptance 0.24 after a proposal."""
    delta = (alpha - TARGET_ACCEPTANCE) / (count + 1.0)
    f = tuning[factor_slot]
    tuning[factor_slot] = 1.0 / (math.exp(delta + math.log(1.0 / f - 1.0)) + 1.0)


@njit(cache=True, nogil=True)
def _log_target_terms(x, prior_rate, prior_weight, ref_shape, ref_rate, ref_weight, i):
    """Prior and reference log-density terms that depend on branch ``i`` only."""
    value = -prior_weight * prior_rate * x
    if ref_weight != 0.0:
        value += ref_weight * ((ref_shape[i] - 1.0) * math.log(x) - ref_rate[i] * x)
    return value


@njit(cache=True, nogil=True)
def _tree_scaler_step(cache, plan, proposal, log_likelihood, beta, prior_rate, prior_weight, ref_shape, ref_rate,
                      ref_weight, threshold, tuning):
    """Scale every branch by s ~ U(f, 1/f) (log Hastings ratio (B − 2) log s, as for B scaled
    parameters); one full likelihood evaluation. Returns the new log-likelihood."""
    branch_lengths = cache.branch_lengths
    n_branches = branch_lengths.shape[0]
    f = tuning[TREE_SCALE_FACTOR]
    s = f + np.random.random() * (1.0 / f - f)
    log_ratio = (n_branches - 2.0) * math.log(s)
    for i in range(n_branches):
        proposal[i] = branch_lengths[i] * s
        log_ratio += (_log_target_terms(proposal[i], prior_rate, prior_weight, ref_shape, ref_rate, ref_weight, i)
                      - _log_target_terms(branch_lengths[i], prior_rate, prior_weight, ref_shape, ref_rate,
                                          ref_weight, i))
    new_ll = plan_log_likelihood(plan, proposal)
    log_alpha = beta * (new_ll - log_likelihood) + log_ratio
    if not new_ll > threshold or math.isnan(log_alpha):
        log_alpha = -np.inf
    accepted = log_alpha >= 0.0 or math.log(np.random.random()) < log_alpha
    tuning[TREE_SCALER_COUNT] += 1.0
    _adapt_scale_factor(tuning, TREE_SCALE_FACTOR, tuning[TREE_SCALER_COUNT], math.exp(min(log_alpha, 0.0)))
    if accepted:
        reset_branch_lengths(cache, proposal)
        return new_ll
    return log_likelihood


@njit(cache=True, nogil=True)
def mh_sweep(cache, plan, log_likelihood, n_steps, beta, prior_rate, prior_weight,
             ref_shape, ref_rate, ref_weight, threshold, tuning, tree_scaler_weight):
    """``n_steps`` MH updates of the branch lengths held by ``cache`` (a
    :func:`~phylo_vi.likelihood.branch_updates.build_branch_cache`, whose log-likelihood is
    ``log_likelihood``); returns the final log-likelihood. With probability
    ``tree_scaler_weight`` an iteration scales the whole tree instead (evaluated with ``plan``),
    otherwise it is the paper's single-branch scaler or slider."""
    branch_lengths = cache.branch_lengths
    n_branches = branch_lengths.shape[0]
    proposal = np.empty(n_branches)
    for _ in range(n_steps):
        if tree_scaler_weight > 0.0 and np.random.random() < tree_scaler_weight:
            log_likelihood = _tree_scaler_step(cache, plan, proposal, log_likelihood, beta, prior_rate, prior_weight,
                                               ref_shape, ref_rate, ref_weight, threshold, tuning)
            continue
        i = np.random.randint(n_branches)
        old = branch_lengths[i]
        use_scaler = np.random.random() < 0.5
        if use_scaler:
            f = tuning[SCALE_FACTOR]
            s = f + np.random.random() * (1.0 / f - f)
            new = old * s
            log_hastings = -math.log(s)
        else:
            new = old + (np.random.random() - 0.5) * tuning[WINDOW]
            while new < 0.0:
                new = -new
            log_hastings = 0.0
        if new <= 0.0:
            log_alpha = -np.inf
            new_ll = log_likelihood
        else:
            new_ll = branch_log_likelihood(cache, i, new)
            log_alpha = (beta * (new_ll - log_likelihood)
                         + _log_target_terms(new, prior_rate, prior_weight, ref_shape, ref_rate, ref_weight, i)
                         - _log_target_terms(old, prior_rate, prior_weight, ref_shape, ref_rate, ref_weight, i)
                         + log_hastings)
            if not new_ll > threshold or math.isnan(log_alpha):
                log_alpha = -np.inf
        accepted = log_alpha >= 0.0 or math.log(np.random.random()) < log_alpha
        if accepted:
            accept_branch(cache, i, new)
            log_likelihood = new_ll
        alpha = math.exp(min(log_alpha, 0.0))
        if use_scaler:
            tuning[SCALER_COUNT] += 1.0
            tuning[SCALER_ACCEPTED] += 1.0 if accepted else 0.0
            _adapt_scale_factor(tuning, SCALE_FACTOR, tuning[SCALER_COUNT], alpha)
        else:
            tuning[SLIDER_COUNT] += 1.0
            tuning[SLIDER_ACCEPTED] += 1.0 if accepted else 0.0
            count = tuning[SLIDER_COUNT] + 1.0
            step = 1.0 / math.sqrt(count)
            log_window = math.log(tuning[WINDOW])
            if tuning[SLIDER_ACCEPTED] / count > TARGET_ACCEPTANCE:
                log_window += step
            else:
                log_window -= step
            window = math.exp(log_window)
            if 1e-4 < window < 20.0:
                tuning[WINDOW] = window
    return log_likelihood


@njit(cache=True, nogil=True)
def _mh_chain(cache, plan, log_likelihood, thin, beta, prior_rate, prior_weight,
              ref_shape, ref_rate, ref_weight, threshold, tuning, tree_scaler_weight, seed, samples, sample_ll):
    """Fill ``samples``: row 0 is the start, each further row ``thin`` iterations later."""
    np.random.seed(seed)
    samples[0] = cache.branch_lengths
    sample_ll[0] = log_likelihood
    for row in range(1, samples.shape[0]):
        log_likelihood = mh_sweep(cache, plan, log_likelihood, thin, beta, prior_rate, prior_weight,
                                  ref_shape, ref_rate, ref_weight, threshold, tuning, tree_scaler_weight)
        samples[row] = cache.branch_lengths
        sample_ll[row] = log_likelihood
    return log_likelihood


@dataclass
class ChainSample:
    """Logged states of one chain after burn-in: branch lengths (n, B) and log-likelihoods (n,)."""

    branch_lengths: np.ndarray
    log_likelihood: np.ndarray
    final_state: np.ndarray
    tuning: np.ndarray | None = None


@dataclass
class TemperedTarget:
    """β ℓ + w_prior log p + w_ref log q (see the module docstring)."""

    beta: float = 1.0
    prior_weight: float = 1.0
    reference_shape: np.ndarray | None = None
    reference_rate: np.ndarray | None = None
    reference_weight: float = 0.0

    def reference_arrays(self, n_branches: int) -> tuple[np.ndarray, np.ndarray]:
        if self.reference_shape is None:
            return np.ones(n_branches), np.ones(n_branches)
        return (np.ascontiguousarray(self.reference_shape, dtype=np.float64),
                np.ascontiguousarray(self.reference_rate, dtype=np.float64))


def run_adaptive_mcmc(problem, start: np.ndarray, *, n_iter: int, thin: int, n_burnin: int,
                      rng: np.random.Generator, target: TemperedTarget | None = None,
                      tuning: np.ndarray | None = None, tree_scaler_weight: float = 0.0) -> ChainSample:
    """One adaptive MH chain of ``n_iter`` single-branch updates, logged every ``thin``.

    Returns the ``n_iter // thin + 1 − n_burnin`` logged states after discarding the first
    ``n_burnin`` logged rows (physher counts burn-in in logged rows: 1,000,000 iterations, thin
    1000, burn-in 100 → 901 samples). ``tuning`` (from :func:`initial_tuning`) is updated in
    place so that a ladder of chains can continue the adaptation (warm start).
    """
    target = TemperedTarget() if target is None else target
    tuning = initial_tuning() if tuning is None else tuning
    n_rows = n_iter // thin + 1
    if n_burnin >= n_rows:
        raise PhyloVIError(f"burn-in of {n_burnin} logged rows leaves no sample of {n_rows}")
    state = np.array(start, dtype=np.float64, copy=True)
    shape, rate = target.reference_arrays(len(state))
    samples = np.empty((n_rows, len(state)))
    sample_ll = np.empty(n_rows)
    cache = build_branch_cache(problem.kernel_plan, state)
    start_ll = cached_log_likelihood(cache)
    _mh_chain(cache, problem.kernel_plan, start_ll, thin, float(target.beta), problem.prior_rate,
              float(target.prior_weight), shape, rate, float(target.reference_weight), -np.inf, tuning,
              float(tree_scaler_weight), int(rng.integers(2**31 - 1)), samples, sample_ll)
    problem.count_evaluations(1 + (n_rows - 1) * thin)
    return ChainSample(samples[n_burnin:], sample_ll[n_burnin:], cache.branch_lengths.copy(), tuning)
