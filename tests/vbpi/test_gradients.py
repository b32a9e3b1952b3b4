"""The likelihood bridge and the bound: values against the engine, gradients against finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from phylo_vi.likelihood import TreeLikelihood
from phylo_vi.likelihood.plan import partial_slots
from phylo_vi.trees.random_trees import random_joining_parent
from phylo_vi.trees.taxa import TaxonNamespace
from phylo_vi.trees.tree import Tree
from phylo_vi.vbpi.likelihood import TopologyLikelihoods, TorchTopologyLikelihoods, log_likelihood, topology_rows
from phylo_vi.vbpi.model import PhylogeneticModel, log_unrooted_topology_count
from phylo_vi.vi.logspace import logmeanexp


def test_topology_count():
    # (2n − 5)!!: 15 unrooted trees on 5 taxa, 10,395 on 8 (OEIS A001147)
    assert np.exp(log_unrooted_topology_count(5)) == pytest.approx(15)
    assert np.exp(log_unrooted_topology_count(8)) == pytest.approx(10395)


def test_batch_values_and_gradients_match_the_engine_tree_by_tree(five_taxa, sampled):
    # reference: TreeLikelihood on each sampled tree in its own node order (no grouping, no canonical form)
    lengths = np.random.default_rng(1).exponential(0.1, (len(sampled), sampled.n_edges))
    likelihoods = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa)
    values, gradients = likelihoods.gradients(sampled, lengths)
    assert len(set(sampled.topology_keys)) < len(sampled)  # a topology met again in another node order
    for row in range(len(sampled)):
        engine = TreeLikelihood(five_taxa.patterns, sampled.arrays.tree(row), "JC")
        value, gradient = engine.gradient(lengths[row])
        assert values[row] == pytest.approx(value, abs=1e-9)
        np.testing.assert_allclose(gradients[row], gradient, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(likelihoods.log_likelihoods(sampled, lengths), values, rtol=0, atol=1e-9)


def test_topology_rows_are_the_plan_fields_of_each_tree():
    # reference: Tree.child_offsets / child_nodes and plan.partial_slots, tree by tree (40-taxon random trees)
    rng = np.random.default_rng(5)
    n_taxa = 40
    parents = np.stack([random_joining_parent(n_taxa, rng) for _ in range(6)]).astype(np.int32)
    taxon = np.stack([np.concatenate([rng.permutation(n_taxa), np.full(n_taxa - 2, -1)]) for _ in range(6)])
    taxon = taxon.astype(np.int32)
    topologies, slots = topology_rows(parents, taxon)
    namespace = TaxonNamespace([f"t{i}" for i in range(n_taxa)])
    for row in range(len(parents)):
        tree = Tree(parents[row], np.full(2 * n_taxa - 2, 0.1), taxon[row], namespace, rooted=False)
        np.testing.assert_array_equal(topologies[0, row], tree.child_offsets)
        np.testing.assert_array_equal(topologies[1, row, :-2], tree.child_nodes)
        np.testing.assert_array_equal(topologies[2, row, :-1], tree.taxon)
        np.testing.assert_array_equal(slots[row], partial_slots(tree))


def test_log_likelihood_function_gradient_matches_finite_differences(five_taxa, sampled):
    likelihoods = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa)
    log_branch = torch.tensor(np.random.default_rng(2).normal(-2.0, 0.5, (len(sampled), sampled.n_edges)),
                              requires_grad=True)
    weights = torch.linspace(-1.0, 1.0, len(sampled), dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: (weights * log_likelihood(x, likelihoods, sampled)).sum(),
                                    (log_branch,), eps=1e-6, atol=1e-6, rtol=1e-6)


def test_bound_gradient_matches_finite_differences(five_taxa, posterior, sampled):
    # fixed topologies and noise: the K-sample bound is a smooth function of (ψ, φ); autograd through
    # the engine bridge, the SBN backward and the log-normal family against central differences
    model = PhylogeneticModel(five_taxa.patterns, five_taxa.taxa)
    batch = posterior.topology.sample(10, np.random.default_rng(9))
    noise = np.random.default_rng(10).standard_normal((10, batch.n_edges))
    names = ("branch.features", "topology.root_logits", "topology.pcsp_logits")
    params = dict(posterior.named_parameters())
    inputs = tuple(params[name].detach().clone().requires_grad_(True) for name in names)

    def bound(*values):
        particles = functional_call(posterior, dict(zip(names, values)), (model, batch, noise))
        return logmeanexp(particles.log_weights(1.0), dim=0)

    assert torch.autograd.gradcheck(bound, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_torch_twin_matches_the_numba_engine_in_value_and_gradient(five_taxa, sampled, device):
    # two implementations of the same pruning: Numba kernels + analytic gradient vs torch twin + autograd
    numba_path = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa)
    torch_path = TorchTopologyLikelihoods(five_taxa.patterns, five_taxa.taxa, device=device)
    start = torch.tensor(np.random.default_rng(3).normal(-2.0, 0.5, (len(sampled), sampled.n_edges)))
    weights = torch.linspace(-1.0, 1.0, len(sampled), dtype=torch.float64)
    results = []
    for likelihoods in (numba_path, torch_path):
        log_branch = start.clone().requires_grad_(True)
        values = log_likelihood(log_branch, likelihoods, sampled)
        (weights * values.cpu()).sum().backward()
        results.append((values.detach().cpu(), log_branch.grad))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=0, atol=1e-9)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-8, atol=1e-9)


def test_threads_give_the_same_values_and_gradients(five_taxa, sampled):
    lengths = np.random.default_rng(4).exponential(0.1, (len(sampled), sampled.n_edges))
    single = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa).gradients(sampled, lengths)
    threaded = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa, threads=2)
    for expected, got in zip(single, threaded.gradients(sampled, lengths)):
        np.testing.assert_array_equal(got, expected)
    reference = TopologyLikelihoods(five_taxa.patterns, five_taxa.taxa).log_likelihoods(sampled, lengths)
    np.testing.assert_array_equal(threaded.log_likelihoods(sampled, lengths), reference)


def test_bound_gradient_with_planar_flows_matches_finite_differences(five_taxa, full_support, sampled):
    from phylo_vi.vbpi.posterior import VariationalPosterior

    model = PhylogeneticModel(five_taxa.patterns, five_taxa.taxa)
    posterior = VariationalPosterior(full_support, five_taxa.taxa, branch_model="planar", flow_layers=3,
                                     generator=torch.Generator().manual_seed(6))
    batch = posterior.topology.sample(6, np.random.default_rng(12))
    noise = np.random.default_rng(13).standard_normal((6, batch.n_edges))
    names = ("branch.features", "branch.flow_features", "branch.flow_bias")
    params = dict(posterior.named_parameters())
    inputs = tuple(params[name].detach().clone().requires_grad_(True) for name in names)

    def bound(*values):
        particles = functional_call(posterior, dict(zip(names, values)), (model, batch, noise))
        return logmeanexp(particles.log_weights(1.0), dim=0)

    assert torch.autograd.gradcheck(bound, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
