"""VBPI-GNN branch model: harmonic node features, invariance to the node order, bound gradient."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from phylo_vi.vbpi.gnn import GNNBranchModel, neighbour_table, topological_features
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.posterior import VariationalPosterior
from phylo_vi.vi.logspace import logmeanexp


def test_interior_features_are_the_mean_of_their_three_neighbours(sampled):
    # definition of the topological features (VBPI-GNN): leaves one-hot, interior = neighbour mean
    parent, taxon = sampled.arrays.parent, sampled.arrays.taxon
    features = topological_features(parent, taxon, 5)
    neighbours = neighbour_table(parent)
    for tree in range(len(parent)):
        for node in range(parent.shape[1]):
            if taxon[tree, node] >= 0:
                np.testing.assert_array_equal(features[tree, node], np.eye(5)[taxon[tree, node]])
            else:
                mean = features[tree, neighbours[tree, node]].mean(axis=0)
                np.testing.assert_allclose(features[tree, node], mean, rtol=0, atol=1e-14)


def test_edge_parameters_do_not_depend_on_the_node_order(sampled):
    # the same topology drawn in different node orders: equal (μ, log σ) split by split
    model = GNNBranchModel(5, hidden=8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mean, log_std = model.mean_log_std(sampled)
    by_split: dict[tuple, tuple[float, float]] = {}
    for row in range(len(sampled)):
        for edge in range(sampled.n_edges):
            key = (sampled.topology_keys[row], int(sampled.split_keys[row, edge]))
            value = (float(mean[row, edge]), float(log_std[row, edge]))
            assert by_split.setdefault(key, value) == pytest.approx(value, abs=1e-12)
    assert len(by_split) < len(sampled) * sampled.n_edges  # repeated topologies were compared


def test_bound_gradient_with_the_gnn_matches_finite_differences(five_taxa, full_support):
    model = PhylogeneticModel(five_taxa.patterns, five_taxa.taxa)
    posterior = VariationalPosterior(full_support, five_taxa.taxa, branch_model="gnn", gnn_hidden=4,
                                     generator=torch.Generator().manual_seed(1))
    batch = posterior.topology.sample(5, np.random.default_rng(2))
    noise = np.random.default_rng(3).standard_normal((5, batch.n_edges))
    names = ("branch.readout.weight", "branch.convolutions.0.0.weight", "branch.pooling.2.bias")
    params = dict(posterior.named_parameters())
    inputs = tuple(params[name].detach().clone().requires_grad_(True) for name in names)

    def bound(*values):
        particles = functional_call(posterior, dict(zip(names, values)), (model, batch, noise))
        return logmeanexp(particles.log_weights(1.0), dim=0)

    assert torch.autograd.gradcheck(bound, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
