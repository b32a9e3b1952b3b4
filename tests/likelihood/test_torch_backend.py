"""The torch twin agrees with the Numba engine; autograd gradients agree with the pre-order pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from phylo_vi.io.newick import read_newick
from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.likelihood.torch_backend import TorchTreeLikelihood

MODELS = ["JC", "GTR{0.7322,1.113,0.6498,1.878,3.333}+F{0.2340,0.2568,0.2799,0.2293}+G4{0.1124}",
          "HKY{2.0}+F+I{0.2}+G4{0.5}"]


@pytest.fixture(scope="module")
def tree_a(reference_dir):
    return next(read_newick(reference_dir / "DS1_treeA_mapJC.nwk"))


@pytest.mark.parametrize("model", MODELS)
def test_torch_twin_matches_numba_batched(model, tree_a, ds1_patterns, device, dtype):
    # reference: the Numba engine (itself checked against IQ-TREE/BEAGLE), 1e-9 relative
    numba_engine = TreeLikelihood(ds1_patterns, tree_a, model)
    twin = TorchTreeLikelihood(ds1_patterns, tree_a, model, device=device, dtype=dtype)
    samples = np.random.default_rng(11).uniform(0.0, 0.3, (6, numba_engine.n_branches))
    t = torch.tensor(samples, device=device, dtype=dtype, requires_grad=True)
    values = twin.log_likelihood(t)
    assert values.shape == (6,) and values.device.type == device.type and values.dtype == dtype
    values.sum().backward()
    expected, gradients = numba_engine.gradient_batch(samples)
    rtol = 1e-9 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(values.detach().cpu().numpy(), expected, rtol=rtol)
    np.testing.assert_allclose(t.grad.cpu().numpy(), gradients, rtol=rtol * 100, atol=rtol * np.abs(gradients).max())


def test_torch_twin_single_vector_and_reference_value(tree_a, ds1_patterns, device):
    # reference: IQ-TREE 2.0.7, reference_loglik.tsv case A-JC
    twin = TorchTreeLikelihood(ds1_patterns, tree_a, "JC", device=device)
    value = twin.log_likelihood(torch.tensor(tree_a.branch_length[:-1], device=device))
    assert value.dim() == 0
    assert value.item() == pytest.approx(-6884.97023829, rel=1e-10)


def test_torch_twin_survives_underflow(tree_a, ds1_patterns, device):
    # reference: the Numba engine, whose scaling is checked against an unscaled NumPy pruning
    numba_engine = TreeLikelihood(ds1_patterns, tree_a, "JC")
    long = np.full(numba_engine.n_branches, 40.0)
    twin = TorchTreeLikelihood(ds1_patterns, tree_a, "JC", device=device)
    value = twin.log_likelihood(torch.tensor(long, device=device)).item()
    # saturated branches: every non-gap character contributes 1/4 (README: 41877 of them in DS1)
    assert value == pytest.approx(41877 * np.log(0.25), rel=1e-9)
    assert value == pytest.approx(numba_engine.log_likelihood(long), rel=1e-12)
