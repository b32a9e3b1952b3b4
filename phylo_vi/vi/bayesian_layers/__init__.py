"""Bayesian linear layers: local reparameterisation, sparse variational dropout, Bayes by Backprop."""
from phylo_vi.vi.bayesian_layers.bayes_by_backprop import BayesByBackpropLinear, ScaleMixturePrior, minibatch_kl_weights
from phylo_vi.vi.bayesian_layers.local_reparameterization import LocalReparameterizationLinear
from phylo_vi.vi.bayesian_layers.sparse_variational_dropout import SparseVDLinear, sparse_vd_neg_kl

__all__ = ["LocalReparameterizationLinear", "SparseVDLinear", "sparse_vd_neg_kl", "BayesByBackpropLinear",
           "ScaleMixturePrior", "minibatch_kl_weights"]
