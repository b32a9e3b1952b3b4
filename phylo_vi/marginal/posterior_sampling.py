"""Posterior samples of branch lengths shared by HM, SHM, BS, CPO and PPD (and the GSS reference).

As in Fourment et al. 2020 (spec section 2.2): a chain started at the MAP (precision 1e-3) runs
1,000,000 iterations of the adaptive scaler/slider MH kernel (:mod:`phylo_vi.marginal.mcmc`),
logging every 1000 and discarding the first 100 logged rows (901 samples). ``sampler="mh-tree"``
adds a whole-tree scaler to that kernel (10% of the iterations, like MrBayes's TLMultiplier, which
moves the tree length that single-branch moves change only slowly); ``sampler="hmc"`` uses the
gradient-based sampler (:mod:`phylo_vi.marginal.hmc`) instead, with ``n_iter``, ``thin`` and
``n_burnin`` counted in HMC iterations.
"""
from __future__ import annotations

import numpy as np

from phylo_vi.errors import PhyloVIError
from phylo_vi.base import COUNT, RANDOM_STATE, Interval, Options
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.hmc import run_hmc
from phylo_vi.marginal.mcmc import ChainSample, TemperedTarget, run_adaptive_mcmc
from phylo_vi.marginal.optimize import maximize_branch_lengths

SAMPLERS = ("mh", "mh-tree", "hmc")
#: share of iterations that scale the whole tree with ``sampler="mh-tree"``
TREE_SCALER_WEIGHT = 0.1
START_TOLERANCE = 1e-3


def run_sampler(problem, start: np.ndarray, *, sampler: str, n_iter: int, thin: int, n_burnin: int, n_leapfrog: int,
                rng: np.random.Generator, target: TemperedTarget | None = None, tuning=None) -> ChainSample:
    """One chain with the named sampler (``mh``: paper's adaptive MH; ``mh-tree``: the same plus a
    whole-tree scaler; ``hmc``: gradient-based)."""
    if sampler in ("mh", "mh-tree"):
        return run_adaptive_mcmc(problem, start, n_iter=n_iter, thin=thin, n_burnin=n_burnin, rng=rng, target=target,
                                 tuning=tuning, tree_scaler_weight=TREE_SCALER_WEIGHT if sampler == "mh-tree" else 0.0)
    if sampler == "hmc":
        return run_hmc(problem, start, n_iter=n_iter, thin=thin, n_burnin=n_burnin, n_leapfrog=n_leapfrog, rng=rng,
                       target=target, tuning=tuning)
    raise PhyloVIError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")


def sample_posterior(problem, *, sampler: str = "mh", n_iter: int = 1_000_000, thin: int = 1000, n_burnin: int = 100,
                     n_leapfrog: int = 10, rng: np.random.Generator) -> ChainSample:
    """Posterior chain started at the MAP; returns the logged samples after burn-in."""
    start = maximize_branch_lengths(problem, include_prior=True, tol=START_TOLERANCE).branch_lengths
    return run_sampler(problem, start, sampler=sampler, n_iter=n_iter, thin=thin, n_burnin=n_burnin,
                       n_leapfrog=n_leapfrog, rng=rng)


class PosteriorSamplingEstimator(MarginalEstimator):
    """Base of the estimators computed from one posterior chain (paper defaults, module docstring).

    Parameters
    ----------
    n_iter : int, default 1_000_000
        Chain iterations (MH moves of one branch, or HMC trajectories with ``sampler="hmc"``).
    thin : int, default 1000
        Log every ``thin``-th iteration.
    n_burnin : int, default 100
        Logged rows discarded at the start.
    sampler : {"mh", "mh-tree", "hmc"}, default "mh"
        The paper's adaptive scaler/slider MH, the same plus a whole-tree scaler, or HMC.
    n_leapfrog : int, default 10
        Leapfrog steps per HMC trajectory (``sampler="hmc"`` only).
    random_state : None, int or numpy Generator
        Seeds the chain.

    Attributes
    ----------
    n_samples_ : int
        Posterior samples the estimate uses (logged rows after burn-in).
    log_marginal_, standard_error_, wall_time_, n_likelihood_evaluations_
        The estimate and its bookkeeping (:class:`~phylo_vi.marginal.base.MarginalEstimator`).
    """

    deprecated_parameters = {"burnin": "n_burnin"}   # a count: burnin is a fraction everywhere else
    parameter_constraints = {"n_iter": COUNT, "thin": COUNT, "n_burnin": [Interval(int, 0)],
                             "sampler": [Options(SAMPLERS)], "n_leapfrog": COUNT, "random_state": RANDOM_STATE}

    def __init__(self, *, n_iter: int = 1_000_000, thin: int = 1000, n_burnin: int = 100, sampler: str = "mh",
                 n_leapfrog: int = 10, random_state=None):
        self.n_iter = n_iter
        self.thin = thin
        self.n_burnin = n_burnin
        self.sampler = sampler
        self.n_leapfrog = n_leapfrog
        self.random_state = random_state

    def _sample_posterior(self, problem, rng: np.random.Generator) -> ChainSample:
        sample = sample_posterior(problem, sampler=self.sampler, n_iter=self.n_iter, thin=self.thin,
                                  n_burnin=self.n_burnin, n_leapfrog=self.n_leapfrog, rng=rng)
        self.n_samples_ = len(sample.log_likelihood)
        return sample
