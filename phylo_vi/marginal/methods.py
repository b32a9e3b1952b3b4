"""The 19 estimators by command-line name, and the ``paper`` / ``fast`` presets.

``paper`` = the constructor defaults (the settings of Fourment et al. 2020, read from their
pipeline; see each class). ``fast`` trades accuracy for time so that every method finishes in
seconds on a DS1-sized problem: shorter chains, and the gradient-based HMC sampler for the
MCMC-based methods, whose every iteration moves all branches.
"""
from __future__ import annotations

from typing import Any

from phylo_vi.errors import InvalidParameterError
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.beta_prime_laplus import BetaPrimeLaplus
from phylo_vi.marginal.bridge_sampling import BridgeSampling
from phylo_vi.marginal.cpo import ConditionalPredictiveOrdinate
from phylo_vi.marginal.elbo import EvidenceLowerBound
from phylo_vi.marginal.gamma_laplus import GammaLaplus
from phylo_vi.marginal.gamma_laplus_importance import GammaLaplusImportanceSampling
from phylo_vi.marginal.generalized_stepping_stone import GeneralizedSteppingStone
from phylo_vi.marginal.harmonic_mean import HarmonicMean
from phylo_vi.marginal.lognormal_laplus import LognormalLaplus
from phylo_vi.marginal.maximum_a_posteriori import MaximumAPosteriori
from phylo_vi.marginal.maximum_likelihood import MaximumLikelihood
from phylo_vi.marginal.modified_path_sampling import ModifiedPathSampling
from phylo_vi.marginal.naive_monte_carlo import NaiveMonteCarlo
from phylo_vi.marginal.nested_sampling import NestedSampling
from phylo_vi.marginal.path_sampling import PathSampling
from phylo_vi.marginal.posterior_predictive import PosteriorPredictive
from phylo_vi.marginal.stabilized_harmonic_mean import StabilizedHarmonicMean
from phylo_vi.marginal.stepping_stone import SteppingStone
from phylo_vi.marginal.variational_importance import VariationalImportanceSampling

#: command-line name -> estimator class, in the order of the issue
METHODS: dict[str, type[MarginalEstimator]] = {cls.name: cls for cls in (
    MaximumLikelihood, MaximumAPosteriori, GammaLaplus, BetaPrimeLaplus, LognormalLaplus,
    GammaLaplusImportanceSampling, VariationalImportanceSampling, EvidenceLowerBound, NaiveMonteCarlo,
    HarmonicMean, StabilizedHarmonicMean, BridgeSampling, ConditionalPredictiveOrdinate, PosteriorPredictive,
    SteppingStone, PathSampling, ModifiedPathSampling, GeneralizedSteppingStone, NestedSampling)}

_FAST_CHAIN = {"n_iter": 600, "thin": 1, "n_burnin": 100, "sampler": "hmc", "n_leapfrog": 5}
#: HMC adapts its mass matrix only with a warm-up (burn-in) of at least 2 * (hmc.MIN_MASS_SAMPLES + 1)
#: iterations: with 20, GSS on DS1 spread over seeds with sd 1.9 nats, with 40 (same cost) sd 0.09
_FAST_LADDER = {"n_steps": 16, "alpha": 0.3, "n_iter": 100, "thin": 1, "n_burnin": 40, "sampler": "hmc",
                "n_leapfrog": 5}
_FAST_VB = {"max_iter": 5000, "check_every": 100, "elbo_draws": 50}

#: hyperparameters of the ``fast`` preset (the others keep the paper's values)
FAST: dict[str, dict[str, Any]] = {
    "ml": {}, "map": {}, "gl": {}, "bl": {}, "ll": {},
    "glis": {"n_samples": 2000},
    "vbis": {"n_samples": 2000, **_FAST_VB},
    "elbo": dict(_FAST_VB),
    "nmc": {"n_samples": 2000},
    "hm": dict(_FAST_CHAIN), "shm": dict(_FAST_CHAIN), "bs": dict(_FAST_CHAIN), "cpo": dict(_FAST_CHAIN),
    "ppd": dict(_FAST_CHAIN),
    "ss": dict(_FAST_LADDER), "ps": dict(_FAST_LADDER), "mps": dict(_FAST_LADDER), "gss": dict(_FAST_LADDER),
    "ns": {"n_live": 10, "n_mcmc": 50},
}
PRESETS = ("paper", "fast")


def parse_methods(text: str) -> list[str]:
    """``all`` or a comma-separated list of method names (case-insensitive, labels accepted)."""
    if text.strip().lower() == "all":
        return list(METHODS)
    by_label = {cls.label.lower(): name for name, cls in METHODS.items()}
    names = []
    for item in text.split(","):
        key = item.strip().lower()
        if not key:
            continue
        name = key if key in METHODS else by_label.get(key)
        if name is None:
            raise InvalidParameterError(f"unknown method {item.strip()!r}; known: all, {', '.join(METHODS)}")
        if name not in names:
            names.append(name)
    if not names:
        raise InvalidParameterError("no method given")
    return names


def make_estimator(name: str, *, preset: str = "paper", random_state=None, **overrides: Any) -> MarginalEstimator:
    """Estimator ``name`` with the preset's hyperparameters (plus ``overrides``)."""
    if name not in METHODS:
        raise InvalidParameterError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    if preset not in PRESETS:
        raise InvalidParameterError(f"unknown preset {preset!r}; choose one of {PRESETS}")
    cls = METHODS[name]
    unknown = sorted(set(overrides) - set(cls.param_names()))
    if unknown:
        raise InvalidParameterError(f"{cls.__name__} has no parameter(s) {unknown}; valid: {cls.param_names()}")
    params = dict(FAST[name]) if preset == "fast" else {}
    params.update(overrides)
    if "random_state" in cls.param_names():
        params["random_state"] = random_state
    return cls(**params)
