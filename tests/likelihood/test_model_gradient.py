"""Analytic derivatives in the exchangeabilities and frequencies (``transition_gradient``,
``rate_matrix_gradient``, ``model_gradient``) on DS1 and in rescaled blocks.

References: reverse-mode autograd through the torch twin (``matrix_exp`` of the normalised Q,
an independent implementation of the same likelihood) and central differences of the engine's
log-likelihood.
"""
from __future__ import annotations

import numpy as np
import pytest

from phylo_vi.alignment import SitePatterns
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.likelihood.model_gradient import model_gradient
from phylo_vi.likelihood.model_parameters import ModelParameters
from phylo_vi.likelihood.rate_matrix_gradient import exponential_derivative_weights
from phylo_vi.likelihood.simulate import random_join_tree


@pytest.fixture(scope="module")
def ds1_tree(reference_dir):
    from phylo_vi.io.trees import read_trees

    return next(iter(read_trees(reference_dir / "DS1_treeA_mapJC.nwk", burnin=0.0)))


def _off_start(parameters: ModelParameters) -> np.ndarray:
    """A point away from the starting values (every coordinate moved, none on a bound)."""
    return parameters.start + np.linspace(-0.3, 0.3, parameters.n_free)


def _central_differences(likelihood: TreeLikelihood, parameters: ModelParameters, x: np.ndarray, t: np.ndarray,
                         step: float = 1e-5) -> np.ndarray:
    differences = np.empty(parameters.n_free)
    for i in range(parameters.n_free):
        shift = np.zeros_like(x)
        shift[i] = step
        likelihood.set_model(parameters.model(x + shift))
        above = likelihood.log_likelihood(t)
        likelihood.set_model(parameters.model(x - shift))
        below = likelihood.log_likelihood(t)
        differences[i] = (above - below) / (2.0 * step)
    likelihood.set_model(parameters.model(x))
    return differences


@pytest.mark.parametrize("text", ["GTR+G4", "GTR+FO+I+G4"])
def test_exchangeability_and_frequency_gradient_match_torch_autograd_on_ds1(ds1_patterns, ds1_tree, text):
    import torch

    from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood

    parameters = ModelParameters(text, ds1_patterns.codes, ds1_patterns.weights)
    x = _off_start(parameters)
    likelihood = TreeLikelihood(ds1_patterns, ds1_tree, parameters.model(x))
    t = ds1_tree.branch_length[:-1] * 1.1
    value, branch_gradient, gradient = model_gradient(likelihood, parameters, x, t)
    twin = TorchTreeLikelihood(likelihood.patterns, ds1_tree, likelihood.model)
    rates = torch.tensor(likelihood.model.exchangeabilities, dtype=torch.float64, requires_grad=True)
    pi = torch.tensor(likelihood.model.frequencies, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor(t, requires_grad=True)
    reference = twin.log_likelihood(lengths, exchangeabilities=rates, frequencies=pi)
    reference.backward()
    exact = [parameters.base_gradient(rates.grad.numpy(), x)]
    if parameters.estimates_frequencies:
        exact.append(parameters.frequency_gradient(pi.grad.numpy(), x))
    exact = np.concatenate(exact)
    # torch agrees to rounding (1e-12 measured); 1e-8 leaves room for other BLAS builds
    assert value == pytest.approx(reference.item(), abs=1e-8)
    np.testing.assert_allclose(gradient[:len(exact)], exact, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(branch_gradient, lengths.grad.numpy(), rtol=1e-8, atol=1e-8)
    # every coordinate, p_inv and alpha included: central differences (step 1e-5, error ~1e-7 here)
    np.testing.assert_allclose(gradient, _central_differences(likelihood, parameters, x, t), rtol=1e-6, atol=2e-6)


def test_branch_gradient_from_the_transition_gradient_equals_the_engines(ds1_patterns, ds1_tree):
    # d log L / dt read off d log L / dP (eigenbasis diagonal) against the engine's own pre-order
    # gradient (qt^T Q m, Ji et al. 2020), two independent routes through the same partials
    parameters = ModelParameters("HKY+I+G4", ds1_patterns.codes, ds1_patterns.weights)
    x = _off_start(parameters)
    likelihood = TreeLikelihood(ds1_patterns, ds1_tree, parameters.model(x))
    t = ds1_tree.branch_length[:-1]
    value, branch_gradient, _ = model_gradient(likelihood, parameters, x, t)
    engine_value, engine_gradient = likelihood.gradient(t)
    assert value == pytest.approx(engine_value, abs=1e-9)
    np.testing.assert_allclose(branch_gradient, engine_gradient, rtol=1e-9, atol=1e-9)


def test_threaded_transition_gradient_equals_single_thread(ds1_patterns, ds1_tree):
    model = "GTR{1.2,3.1,0.7,0.9,4.2}+F{0.3,0.2,0.22,0.28}+I{0.2}+G4{0.6}"
    single = TreeLikelihood(ds1_patterns, ds1_tree, model).transition_gradient()
    threaded = TreeLikelihood(ds1_patterns, ds1_tree, model, n_threads=2, block=64).transition_gradient()
    assert threaded[0] == pytest.approx(single[0], abs=1e-9)
    for ours, reference in zip(threaded[1:], single[1:]):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


def test_model_gradient_in_rescaled_blocks_matches_finite_differences():
    # 800 taxa with branches 0.3-1.0: the variable sites' likelihoods are far below 1e-280, so the
    # (one) block is pruned with rescaling (reference: central differences of the rescaled log L)
    rng = np.random.default_rng(5)
    tree = random_join_tree(800, rng, min_length=0.3, max_length=1.0)
    codes = rng.choice(np.array([1, 2, 4, 8], dtype=np.uint8), size=(800, 40))
    codes[:, :4] = np.array([1, 2, 4, 8], dtype=np.uint8)          # constant columns for +I
    patterns = SitePatterns(tree.taxa, codes, np.ones(codes.shape[1]))
    parameters = ModelParameters("GTR+FO+I+G4", patterns.codes, patterns.weights)
    x = _off_start(parameters)
    likelihood = TreeLikelihood(patterns, tree, parameters.model(x))
    t = tree.branch_length[:-1]
    value, _, gradient = model_gradient(likelihood, parameters, x, t)
    assert likelihood.pattern_log_likelihoods(t).min() < np.log(1e-280)
    np.testing.assert_allclose(gradient, _central_differences(likelihood, parameters, x, t, step=1e-6),
                               rtol=1e-5, atol=1e-4)


def test_exponential_derivative_weights_match_their_definition():
    # F_ij = (e^(l_i t) - e^(l_j t)) / (l_i - l_j), and t e^(l t) for equal eigenvalues (K80 has
    # a repeated one): the stable form against the textbook one where it is well conditioned
    values = np.array([0.0, -0.8, -1.4, -1.4])
    tau = np.array([0.05, 1.0, 7.0])
    weights = exponential_derivative_weights(values, tau)
    for a, x in enumerate(tau):
        for i in range(4):
            for j in range(4):
                if values[i] == values[j]:
                    expected = x * np.exp(values[i] * x)
                else:
                    expected = (np.exp(values[i] * x) - np.exp(values[j] * x)) / (values[i] - values[j])
                assert weights[a, i, j] == pytest.approx(expected, rel=1e-12)
