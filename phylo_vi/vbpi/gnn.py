"""VBPI-GNN: branch-length parameters from a graph neural network over the tree (plain torch).

Zhang (ICLR 2023, "Learnable topological features for phylogenetic inference via graph neural
networks"; code ``zcrabbit/vbpi-gnn``, spec ``sbn_vbpi.md`` §5):

- *topological node features*: leaves are one-hot (the n × n identity); every interior node is
  the mean of its three neighbours, a linear system solved in two passes (post-order
  c_v = 1/(3 − Σ_children c), d_v = c_v Σ_children d, so that h_v = c_v h_parent + d_v; the root
  has h = d; pre-order h_v = c_v h_parent + d_v);
- ``n_layers`` EdgeConv layers (Wang et al. 2019): h_v ← ELU(max_{u ∈ N(v)} MLP([h_v, h_u − h_v]));
- per edge (child u, parent v): (μ_e, log σ_e) = readout(max(MLP(h_u), MLP(h_v))), and
  log b_e = μ_e + σ_e ε_e − 2 as in VBPI.

The features are computed by Numba kernels from the sampled topologies (they hold no
parameters); the network is vectorised over the K trees of a batch. Every operation commutes with relabelling the
nodes, so (μ_e, σ_e) depend on the edge's place in the topology only.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit
from torch import nn

from phylo_vi.vbpi.batch import TopologyBatch
from phylo_vi.vbpi.branch import LOG_BRANCH_OFFSET


@njit(cache=True, nogil=True)
def topological_features(parent, taxon, n_taxa):
    """``(K, N, n_taxa)`` harmonic node features of post-order trees (module docstring)."""
    n_trees, n_nodes = parent.shape
    features = np.zeros((n_trees, n_nodes, n_taxa))
    c = np.zeros(n_nodes)
    sum_c = np.zeros(n_nodes)
    for t in range(n_trees):
        c[:] = 0.0
        sum_c[:] = 0.0
        d = features[t]
        for node in range(n_nodes):                   # post-order: h_v = c_v h_parent + d_v
            if taxon[t, node] >= 0:
                d[node, taxon[t, node]] = 1.0
            else:
                c[node] = 1.0 / (3.0 - sum_c[node])
                d[node] *= c[node]                    # d[node] holds Σ_children d until here
            up = parent[t, node]
            if up >= 0:
                sum_c[up] += c[node]
                d[up] += d[node]
        for node in range(n_nodes - 2, -1, -1):       # pre-order; the root keeps h = d
            d[node] += c[node] * d[parent[t, node]]
    return features


@njit(cache=True, nogil=True)
def neighbour_table(parent):
    """``(K, N, 3)`` neighbours of every node; a leaf's single neighbour is repeated (max is unchanged)."""
    n_trees, n_nodes = parent.shape
    table = np.empty((n_trees, n_nodes, 3), dtype=np.int64)
    count = np.zeros(n_nodes, dtype=np.int64)
    for t in range(n_trees):
        count[:] = 0
        for node in range(n_nodes - 1):
            up = parent[t, node]
            table[t, node, count[node]] = up
            count[node] += 1
            table[t, up, count[up]] = node
            count[up] += 1
        for node in range(n_nodes):
            for slot in range(count[node], 3):
                table[t, node, slot] = table[t, node, 0]
    return table


def _mlp(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ELU(), nn.Linear(n_out, n_out))


class GNNBranchModel(nn.Module):
    """Log-normal branch lengths whose (μ, log σ) come from EdgeConv layers (module docstring)."""

    def __init__(self, n_taxa: int, *, hidden: int = 100, n_layers: int = 2, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.n_taxa = n_taxa
        sizes = [n_taxa] + [hidden] * n_layers
        self.convolutions = nn.ModuleList(_mlp(2 * a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.pooling = _mlp(hidden, hidden)
        self.readout = nn.Linear(hidden, 2)
        for parameter in self.parameters():           # explicit generator: reproducible initialisation
            bound = 1.0 / math.sqrt(parameter.shape[-1])
            with torch.no_grad():
                parameter.copy_((2.0 * torch.rand(parameter.shape, generator=generator, dtype=dtype) - 1.0) * bound)
        self.to(dtype)

    def mean_log_std(self, batch: TopologyBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """``(μ, log σ)`` of log b + 2, each ``(K, E)``."""
        parent, taxon = batch.arrays.parent, batch.arrays.taxon
        dtype, device = self.readout.weight.dtype, self.readout.weight.device
        h = torch.as_tensor(topological_features(parent, taxon, self.n_taxa), dtype=dtype, device=device)
        neighbours = torch.as_tensor(neighbour_table(parent), device=device)           # (K, N, 3)
        rows = torch.arange(len(parent), device=device)[:, None, None]
        for convolution in self.convolutions:
            centre = h[:, :, None, :].expand(-1, -1, 3, -1)
            messages = convolution(torch.cat([centre, h[rows, neighbours] - centre], dim=-1))
            h = nn.functional.elu(messages.amax(dim=2))
        pooled = self.pooling(h)
        n_edges = batch.n_edges
        ups = torch.as_tensor(parent[:, :n_edges].astype(np.int64), device=device)
        edge = torch.maximum(pooled[:, :n_edges], pooled[rows[..., 0], ups])
        out = self.readout(edge)
        return out[..., 0], out[..., 1]

    def sample(self, batch: TopologyBatch, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log b (K, E), log q_ψ(log b | τ) (K,))`` from standard normal ``noise (K, E)``."""
        mean, log_std = self.mean_log_std(batch)
        log_branch = mean + log_std.exp() * noise + LOG_BRANCH_OFFSET
        log_q = (-0.5 * math.log(2.0 * math.pi) - 0.5 * noise ** 2 - log_std).sum(dim=-1)
        return log_branch, log_q
