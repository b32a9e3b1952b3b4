"""Bad arguments to the Python API raise PhyloVIError subclasses (issue 14), never a bare
ValueError / TypeError / IndexError; the subclasses keep the builtin as a second base, so
``except ValueError`` in older callers still works."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.errors import ConvergenceError, InvalidParameterError, NotFittedError, PhyloVIError
from phylo_vi.genotype import is_linear, log_likelihood, simulate_clonal
from phylo_vi.genotype.classifiers import MatrixClassifier, noise_dataset
from phylo_vi.io import parse_newick
from phylo_vi.marginal import NaiveMonteCarlo, SteppingStone, make_estimator
from phylo_vi.sbn import SampleRelativeFrequency, SubsplitBayesianNetwork
from phylo_vi.trees import TaxonNamespace
from phylo_vi.util.random import check_random_state
from phylo_vi.vi.elbo import reparameterized_elbo
from phylo_vi.vi.geco import GECO
from phylo_vi.vi.gumbel_top_k import gumbel_top_k
from phylo_vi.vi.jackknife import jackknife_log_marginal
from phylo_vi.vi.sequential import stochastic_beam_search
from phylo_vi.vi.sum_and_sample import optimal_n_summed
from phylo_vi.vi.vimco import vimco_learning_signal


def _trees():
    taxa = TaxonNamespace("ABCDE")
    return [parse_newick(text, taxa, add_taxa=False) for text in ("((A,B),C,(D,E));", "((A,C),B,(D,E));")]


def _fitted_srf():
    return SampleRelativeFrequency().fit(_trees())


# (what is wrong, the call, the PhyloVIError subclass, the builtin it also is)
CASES = [
    ("unknown estimator hyperparameter", lambda: make_estimator("ss", n_stepz=3), InvalidParameterError, TypeError),
    ("unknown method", lambda: make_estimator("bogus"), PhyloVIError, None),
    ("set_params with a bad name", lambda: SteppingStone().set_params(steps=3), InvalidParameterError, ValueError),
    ("random_state of a wrong type", lambda: check_random_state("seed"), InvalidParameterError, TypeError),
    ("estimator used before fit", lambda: NaiveMonteCarlo().log_marginal_, NotFittedError, AttributeError),
    ("topology model used before fit", lambda: SubsplitBayesianNetwork().sample(3), NotFittedError, AttributeError),
    ("negative number of draws", lambda: _fitted_srf().sample(-1), InvalidParameterError, ValueError),
    ("number of draws not an integer", lambda: _fitted_srf().sample(2.5), InvalidParameterError, TypeError),
    ("credible level outside (0, 1]", lambda: _fitted_srf().credible_set(1.5), InvalidParameterError, ValueError),
    ("credible level not a number", lambda: _fitted_srf().credible_set("high"), InvalidParameterError, TypeError),
    ("unknown SBN method", lambda: SubsplitBayesianNetwork(method="ml").fit(_trees()), InvalidParameterError,
     ValueError),
    ("linear/branching of a matrix with conflicts", lambda: is_linear(np.array([[1, 1], [1, 0], [0, 1]])),
     InvalidParameterError, ValueError),
    ("error rate not a number", lambda: log_likelihood(np.zeros((2, 2)), np.zeros((2, 2)), "0.1", 0.1),
     InvalidParameterError, ValueError),
    ("candidate of another shape", lambda: log_likelihood(simulate_clonal(6, 5, 3, random_state=1),
                                                          np.zeros((2, 5), np.int8), 0.1, 0.1),
     InvalidParameterError, ValueError),
    ("unknown simulation model", lambda: noise_dataset(2, 3, 3, model="yule"), InvalidParameterError, ValueError),
    ("unknown classifier task", lambda: MatrixClassifier(task="size").fit(np.zeros((2, 3, 3)), np.array([0, 1])),
     InvalidParameterError, ValueError),
    ("top-k with k larger than the support", lambda: gumbel_top_k(torch.zeros(3), 4), InvalidParameterError,
     ValueError),
    ("beam size 0", lambda: stochastic_beam_search(None, 1, 0), InvalidParameterError, ValueError),
    ("GECO moving-average weight of 1", lambda: GECO(alpha=1.0), InvalidParameterError, ValueError),
    ("VIMCO with one sample", lambda: vimco_learning_signal(torch.zeros(1, 2)), InvalidParameterError, ValueError),
    ("ELBO given both kl and log_q",
     lambda: reparameterized_elbo(torch.zeros(2), kl=torch.zeros(2), log_prior=torch.zeros(2), log_q=torch.zeros(2)),
     InvalidParameterError, ValueError),
    ("jackknife order K", lambda: jackknife_log_marginal(torch.zeros(3), order=3), InvalidParameterError,
     ValueError),
    ("negative sum-and-sample budget", lambda: optimal_n_summed(torch.zeros(3), max_summed=-1),
     InvalidParameterError, ValueError),
]


@pytest.mark.parametrize(("call", "error", "builtin"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_arguments_raise_phylo_vi_errors(call, error, builtin):
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, PhyloVIError)
    if builtin is not None:
        assert isinstance(raised.value, builtin)


def test_error_classes_keep_their_builtin_bases():
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, TypeError)
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceError, RuntimeError)
