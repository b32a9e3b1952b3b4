"""Marginal likelihood of a fixed tree topology: the 19 estimators of Fourment et al. 2020
(Syst. Biol. 69:209, "19 dubious ways to compute the marginal likelihood of a phylogenetic tree
topology") behind one scikit-learn-style contract, and the estimation grid on dask.distributed.

>>> problem = FixedTopologyProblem(patterns, tree)            # JC69, Exponential(10) prior
>>> SteppingStone(random_state=1).fit(problem).log_marginal_

MCMC-based estimators take ``sampler="mh"`` (the paper's single-branch scaler/slider kernel,
default), ``"mh-tree"`` (plus a whole-tree scaler) or ``"hmc"`` (engine gradients); the ladder
estimators (SS, PS, MPS, GSS) take ``n_runs`` independent ladders run on threads and pooled.
"""
from phylo_vi.marginal.base import MarginalEstimator
from phylo_vi.marginal.beta_prime_laplus import BetaPrimeLaplus
from phylo_vi.marginal.bridge_sampling import BridgeSampling
from phylo_vi.marginal.cpo import ConditionalPredictiveOrdinate
from phylo_vi.marginal.elbo import EvidenceLowerBound
from phylo_vi.marginal.gamma_laplus import GammaLaplus
from phylo_vi.marginal.gamma_laplus_importance import GammaLaplusImportanceSampling
from phylo_vi.marginal.generalized_stepping_stone import GeneralizedSteppingStone
from phylo_vi.marginal.harmonic_mean import HarmonicMean
from phylo_vi.marginal.ladder import power_posterior_ladder
from phylo_vi.marginal.lognormal_laplus import LognormalLaplus
from phylo_vi.marginal.maximum_a_posteriori import MaximumAPosteriori
from phylo_vi.marginal.maximum_likelihood import MaximumLikelihood
from phylo_vi.marginal.methods import METHODS, make_estimator, parse_methods
from phylo_vi.marginal.metrics import hellinger_distance, implied_posterior, kl_divergence, split_rmsd
from phylo_vi.marginal.modified_path_sampling import ModifiedPathSampling
from phylo_vi.marginal.naive_monte_carlo import NaiveMonteCarlo
from phylo_vi.marginal.nested_sampling import NestedSampling
from phylo_vi.marginal.path_sampling import PathSampling
from phylo_vi.marginal.posterior_predictive import PosteriorPredictive
from phylo_vi.marginal.problem import FixedTopologyProblem
from phylo_vi.marginal.stabilized_harmonic_mean import StabilizedHarmonicMean
from phylo_vi.marginal.stepping_stone import SteppingStone
from phylo_vi.marginal.topologies import read_credible_set, read_topologies
from phylo_vi.marginal.variational_importance import VariationalImportanceSampling

__all__ = [
    "FixedTopologyProblem", "MarginalEstimator", "METHODS", "make_estimator", "parse_methods",
    "MaximumLikelihood", "MaximumAPosteriori", "GammaLaplus", "BetaPrimeLaplus", "LognormalLaplus",
    "GammaLaplusImportanceSampling", "VariationalImportanceSampling", "EvidenceLowerBound", "NaiveMonteCarlo",
    "HarmonicMean", "StabilizedHarmonicMean", "BridgeSampling", "ConditionalPredictiveOrdinate",
    "PosteriorPredictive", "SteppingStone", "PathSampling", "ModifiedPathSampling", "GeneralizedSteppingStone",
    "NestedSampling", "power_posterior_ladder", "implied_posterior", "kl_divergence", "hellinger_distance",
    "split_rmsd", "read_credible_set", "read_topologies",
]
