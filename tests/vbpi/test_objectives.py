"""The φ-gradient of VIMCO is unbiased: mean of many estimates vs the exact gradient by enumeration.

With the branch noise of each particle slot held fixed (ε_k, k = 1..K, attached to the splits in
a fixed order), the K-sample bound is a
function of the K topologies only, and its expectation under q_φ is a finite sum over the
15^K topology tuples of the 5-taxon problem:

    E(φ) = Σ_{τ_1..τ_K} Π_k q_φ(τ_k) · log (1/K) Σ_k w(τ_k, ε_k; φ).

VIMCO's estimator stays unbiased for ∇_φ E conditionally on the fixed noise (its leave-one-out
control variate of slot k does not depend on τ_k; Mnih & Rezende 2016, §3), so the mean of
independent estimates must match the enumerated gradient (autograd through the sum) within its
Monte Carlo error. Compared along fixed random directions of the φ space.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from phylo_vi.vbpi.batch import topology_batch
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.objectives import Particles, surrogate

K = 3
N_BATCHES = 40
BATCH = 100


def canonical_noise(batch, slot_noise: np.ndarray) -> np.ndarray:
    """Noise rows with ε_k[j] on the edge of rank j in split-key order of tree ``n * K + k``.

    A tree's edge order depends on how it was sampled; attaching the noise to splits makes the
    log-weight of a slot a function of the topology alone.
    """
    rows = np.tile(slot_noise, (len(batch) // len(slot_noise), 1))
    out = np.empty_like(rows)
    np.put_along_axis(out, batch.canonical_order, rows, axis=1)
    return out


def test_vimco_phi_gradient_is_unbiased(five_taxa, posterior, full_support):
    model = PhylogeneticModel(five_taxa.patterns, five_taxa.taxa)
    parameters = [posterior.topology.root_logits, posterior.topology.pcsp_logits]
    noise = np.random.default_rng(21).standard_normal((K, 2 * 5 - 3))
    every = topology_batch(five_taxa.arrays(), full_support)

    # exact: enumerate all 15^3 tuples
    slot_log_w = torch.stack([posterior(model, every, canonical_noise(every, noise[k:k + 1])).log_weights(1.0)
                              for k in range(K)], dim=1)                                   # (15, K)
    log_q = posterior.topology.log_prob(every)
    grid = torch.stack(torch.broadcast_tensors(slot_log_w[:, 0, None, None], slot_log_w[None, :, 1, None],
                                               slot_log_w[None, None, :, 2]))
    bound = torch.logsumexp(grid, dim=0) - math.log(K)
    weight = (log_q[:, None, None] + log_q[None, :, None] + log_q[None, None, :]).exp()
    exact = torch.autograd.grad((weight * bound).sum(), parameters)

    # VIMCO: N_BATCHES means of BATCH independent estimates each
    rng = np.random.default_rng(22)
    means = []
    for _ in range(N_BATCHES):
        draws = posterior.topology.sample(BATCH * K, rng)
        flat = posterior(model, draws, canonical_noise(draws, noise))            # row n * K + k uses ε_k
        shaped = Particles(*(value.reshape(BATCH, K).T if torch.is_tensor(value) else value
                             for value in (flat.log_likelihood, flat.log_branch_prior, flat.log_topology_prior,
                                           flat.log_q_topology, flat.log_q_branch)))
        means.append(torch.autograd.grad(surrogate(shaped, 1.0, "vimco").mean(), parameters))

    directions = torch.randn(3, sum(p.numel() for p in parameters), generator=torch.Generator().manual_seed(5),
                             dtype=torch.float64)
    flat_exact = torch.cat([g.ravel() for g in exact])
    flat_means = torch.stack([torch.cat([g.ravel() for g in mean]) for mean in means])     # (N_BATCHES, P)
    projected = flat_means @ directions.T                                                   # (N_BATCHES, 3)
    estimate = projected.mean(0)
    standard_error = projected.std(0) / math.sqrt(N_BATCHES)
    assert torch.all((estimate - directions @ flat_exact).abs() < 3.5 * standard_error)
    assert torch.all(standard_error < 0.2 * (directions @ flat_exact).abs().max())  # the test has power
