"""Warm-started chains along the power-posterior ladder (Fourment et al. 2020, spec section 2.3).

The K = 50 inverse temperatures of :func:`~phylo_vi.marginal.ladder.power_posterior_ladder` are
visited from β = 1 down to β = 0; each chain (1,000,000 iterations, logged every 1000, first 100
logged rows discarded) starts from the final state of the previous one and continues its operator
adaptation. The chain at β = 1 starts at the MAP (precision 1e-3). SS, PS and MPS share the
tempered likelihood p(D | b)^β p(b); GSS tempers against a reference q,
[p(D | b) p(b)]^β q(b)^{1−β}, and skips β = 1.

``n_runs > 1`` runs that many independent ladders from the same start in parallel threads (the
samplers' kernels release the GIL; each run has its own likelihood buffers) and pools their
samples per step, as MrBayes pools its ``nruns``.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from phylo_vi.base import COUNT, POSITIVE, RANDOM_STATE, Interval, Options
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.hmc import initial_hmc_tuning
from phylo_vi.marginal.ladder import power_posterior_ladder
from phylo_vi.marginal.mcmc import TemperedTarget, initial_tuning
from phylo_vi.marginal.optimize import maximize_branch_lengths
from phylo_vi.marginal.posterior_sampling import SAMPLERS, START_TOLERANCE, run_sampler


@dataclass
class LadderSample:
    """Samples per temperature, ascending β: ``betas`` (K,), ``branch_lengths`` (K, n, B),
    ``log_likelihood`` (K, n)."""

    betas: np.ndarray
    branch_lengths: np.ndarray
    log_likelihood: np.ndarray


def run_power_posterior_ladder(problem, betas: np.ndarray, *, sampler: str, n_iter: int, thin: int, n_burnin: int,
                               n_leapfrog: int, rng: np.random.Generator, reference: tuple | None = None,
                               start: np.ndarray | None = None,
                               on_step: Callable[[int, int], None] | None = None) -> LadderSample:
    """Chains at ``betas`` (ascending), run in descending order with warm starts.

    ``reference`` = (shape, rate) of a product-of-gammas q switches to the GSS path
    [p(D|b)p(b)]^β q(b)^{1−β}. ``on_step(k, n)`` is called after the k-th of the n chains (1-based).
    """
    betas = np.asarray(betas, dtype=np.float64)
    state = maximize_branch_lengths(problem, include_prior=True, tol=START_TOLERANCE).branch_lengths \
        if start is None else np.asarray(start, dtype=np.float64)
    tuning = initial_hmc_tuning(problem.n_branches) if sampler == "hmc" else initial_tuning()
    samples: list[np.ndarray] = []
    log_likelihoods: list[np.ndarray] = []
    for step, beta in enumerate(betas[::-1], start=1):
        if reference is None:
            target = TemperedTarget(beta=beta)
        else:
            target = TemperedTarget(beta=beta, prior_weight=beta, reference_shape=reference[0],
                                    reference_rate=reference[1], reference_weight=1.0 - beta)
        chain = run_sampler(problem, state, sampler=sampler, n_iter=n_iter, thin=thin, n_burnin=n_burnin,
                            n_leapfrog=n_leapfrog, rng=rng, target=target, tuning=tuning)
        state = chain.final_state
        samples.append(chain.branch_lengths)
        log_likelihoods.append(chain.log_likelihood)
        if on_step is not None:
            on_step(step, len(betas))
    return LadderSample(betas, np.stack(samples[::-1]), np.stack(log_likelihoods[::-1]))


class PowerPosteriorEstimator(MarginalEstimator):
    """Base of SS, PS, MPS and GSS: ladder settings (paper defaults, module docstring) and the ladder run.

    Parameters
    ----------
    n_steps : int, default 50
        Inverse temperatures K of the ladder.
    alpha : float, default 0.3
        β_k are the k/(K − 1) quantiles of Beta(alpha, 1) (:func:`~phylo_vi.marginal.ladder.power_posterior_ladder`).
    n_iter, thin, n_burnin : int, default 1_000_000, 1000, 100
        Iterations, logging interval and discarded logged rows of the chain at each β.
    sampler : {"mh", "mh-tree", "hmc"}, default "mh"
        The chains' sampler (:class:`~phylo_vi.marginal.posterior_sampling.PosteriorSamplingEstimator`).
    n_leapfrog : int, default 10
        Leapfrog steps per HMC trajectory (``sampler="hmc"`` only).
    n_runs : int, default 1
        Independent ladders run on threads and pooled per step.
    random_state : None, int or numpy Generator
        Seeds the chains (``n_runs`` streams spawned from it).

    Attributes
    ----------
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    deprecated_parameters = {"burnin": "n_burnin"}   # a count: burnin is a fraction everywhere else
    parameter_constraints = {"n_steps": [Interval(int, 2)], "alpha": POSITIVE, "n_iter": COUNT, "thin": COUNT,
                             "n_burnin": [Interval(int, 0)], "sampler": [Options(SAMPLERS)], "n_leapfrog": COUNT,
                             "n_runs": COUNT, "random_state": RANDOM_STATE}

    def __init__(self, *, n_steps: int = 50, alpha: float = 0.3, n_iter: int = 1_000_000, thin: int = 1000,
                 n_burnin: int = 100, sampler: str = "mh", n_leapfrog: int = 10, n_runs: int = 1, random_state=None):
        self.n_steps = n_steps
        self.alpha = alpha
        self.n_iter = n_iter
        self.thin = thin
        self.n_burnin = n_burnin
        self.sampler = sampler
        self.n_leapfrog = n_leapfrog
        self.n_runs = n_runs
        self.random_state = random_state

    def _run_ladder(self, problem, rng: np.random.Generator, reference: tuple | None = None,
                    betas: np.ndarray | None = None, start: np.ndarray | None = None) -> LadderSample:
        betas = power_posterior_ladder(self.n_steps, self.alpha) if betas is None else betas
        share = 1.0 / (self.n_steps * self.n_runs)  # one chain of one run: GSS adds its posterior chain
        settings = dict(sampler=self.sampler, n_iter=self.n_iter, thin=self.thin, n_burnin=self.n_burnin,
                        n_leapfrog=self.n_leapfrog, reference=reference,
                        on_step=None if self._progress is None else lambda k, n: self._report_progress(share))
        if self.n_runs == 1:
            return run_power_posterior_ladder(problem, betas, rng=rng, start=start, **settings)
        if start is None:
            start = maximize_branch_lengths(problem, include_prior=True, tol=START_TOLERANCE).branch_lengths
        replicas = [problem.replica() for _ in range(self.n_runs)]
        streams = rng.spawn(self.n_runs)
        with ThreadPoolExecutor(self.n_runs) as pool:
            ladders = list(pool.map(lambda run: run_power_posterior_ladder(replicas[run], betas, rng=streams[run],
                                                                           start=start, **settings),
                                    range(self.n_runs)))
        problem.count_evaluations(sum(replica.n_likelihood_evaluations for replica in replicas))
        return LadderSample(ladders[0].betas, np.concatenate([ladder.branch_lengths for ladder in ladders], axis=1),
                            np.concatenate([ladder.log_likelihood for ladder in ladders], axis=1))
