"""Every one of the 19 estimators follows the contract (scikit-learn style) through the API."""
from __future__ import annotations

import math

import numpy as np
import pytest

from phylo_vi.errors import PhyloVIError
from phylo_vi.marginal import METHODS, MarginalEstimator, make_estimator, parse_methods
from phylo_vi.marginal.hmc import MIN_MASS_SAMPLES, initial_hmc_tuning, run_hmc
from phylo_vi.marginal.methods import FAST

# small MH settings so that the whole list runs in seconds (paper values are the defaults)
SMALL = {"n_iter": 2000, "thin": 2, "n_burnin": 100, "n_steps": 8, "n_mcmc": 20, "n_live": 10, "n_samples": 500,
         "max_iter": 2000}


def _small(name: str) -> dict:
    params = METHODS[name].param_names()
    return {key: value for key, value in SMALL.items() if key in params}


def test_there_are_nineteen_with_unique_names_and_labels():
    assert len(METHODS) == 19
    assert len({cls.label for cls in METHODS.values()}) == 19
    assert parse_methods("all") == list(METHODS)
    assert parse_methods("GSS, glis,GSS") == ["gss", "glis"]
    with pytest.raises(PhyloVIError, match="unknown method"):
        parse_methods("gss,nope")


@pytest.mark.parametrize("name", list(METHODS))
def test_fit_sets_the_fitted_attributes(name, triplet):
    estimator = make_estimator(name, random_state=3, **_small(name))
    assert isinstance(estimator, MarginalEstimator)
    assert estimator.get_params() == type(estimator)(**estimator.get_params()).get_params()
    assert not hasattr(estimator, "log_marginal_")
    assert estimator.fit(triplet.problem()) is estimator
    assert math.isfinite(estimator.log_marginal_)
    assert estimator.wall_time_ > 0 and estimator.n_likelihood_evaluations_ > 0
    assert math.isnan(estimator.standard_error_) or estimator.standard_error_ >= 0
    # every estimate is within a few nats of the exact value on this easy problem (HM, PPD, ML
    # and MAP are the most biased: about +1, +4, +4 and +5 nats)
    assert abs(estimator.log_marginal_ - triplet.log_marginal) < 8


def test_paper_defaults_are_the_constructor_defaults():
    # reference: specs/marginal_likelihood.md sections 2-3 (physher marginal-v1.1 templates)
    ss = make_estimator("ss")
    assert (ss.n_steps, ss.alpha, ss.n_iter, ss.thin, ss.n_burnin, ss.sampler) == (50, 0.3, 1_000_000, 1000, 100, "mh")
    assert make_estimator("glis").n_samples == 10_000 and make_estimator("nmc").n_samples == 10_000
    ns = make_estimator("ns")
    assert (ns.n_live, ns.n_mcmc, ns.max_iter) == (50, 1000, 100_000)
    vb = make_estimator("vbis")
    assert (vb.eta, vb.check_every, vb.elbo_draws, vb.tol, vb.max_iter) == (0.1, 100, 100, 1e-3, 1_000_000)
    assert make_estimator("shm").delta == 0.01
    assert make_estimator("gl").tol == 1e-7 and make_estimator("ml").tol == 1e-5
    fast = make_estimator("ss", preset="fast")
    assert fast.sampler == "hmc" and fast.n_iter < ss.n_iter
    with pytest.raises(PhyloVIError):
        make_estimator("ss", preset="slowest")


@pytest.mark.parametrize("name", ["bs", "ss", "gss"])
def test_fast_preset_chains_adapt_the_hmc_mass_matrix(name, triplet):
    # a warm-up of 2 * MIN_MASS_SAMPLES iterations or fewer keeps the unit mass matrix (the fast
    # ladder once had exactly that); the fast preset's warm-up is long enough to estimate it
    settings = FAST[name]
    problem = triplet.problem()

    def inverse_mass_after(burnin: int) -> np.ndarray:
        tuning = initial_hmc_tuning(problem.n_branches)
        run_hmc(problem, problem.initial_branch_lengths(), n_iter=settings["n_iter"], thin=settings["thin"],
                n_burnin=burnin, n_leapfrog=settings["n_leapfrog"], rng=np.random.default_rng(1), tuning=tuning)
        return tuning[1]

    assert np.all(inverse_mass_after(2 * MIN_MASS_SAMPLES) == 1.0)
    assert not np.allclose(inverse_mass_after(settings["n_burnin"]), 1.0, rtol=0.1)
