"""Topology gradients from sets of distinct topologies: unordered-set and sum-and-sample estimators.

Both maximise the annealed evidence lower bound E_{q_φ(τ)}[f(τ)] with, per topology, one
reparameterised branch-length draw b ~ q_ψ(· | τ) and

    f(τ, b) = β log p(D | τ, b) + log p(b) + log p(τ) − sg(log q_φ(τ)) − log q_ψ(b | τ),

the K-particle budget of VIMCO spent on K *distinct* topologies instead of K independent ones.
The score term −∇ log q_φ(τ) of f has expectation zero under q_φ and is left out (``sg``: stop
gradient); the ψ-gradient is the reparameterised gradient of f, weighted like f. q_φ must be the
canonically rooted SBN (:mod:`phylo_vi.vbpi.canonical`), whose topologies are sequences of
:mod:`phylo_vi.vi.sequential`:

- **unordered set** (Kool, van Hoof & Welling 2020): K topologies without replacement by
  stochastic beam search over the SBN (Kool et al. 2019), φ-gradient
  Σ_{s∈S} q(s) R(S, s) ∇ log q(s) [f(s) − b(S, s)] with the built-in baseline
  (:func:`phylo_vi.vi.unordered_set.unordered_set_surrogate`);
- **sum and sample** (Liu et al. 2019): the K − 1 topologies of deterministic beam search summed
  exactly, one more drawn from q_φ outside them (:mod:`phylo_vi.vi.sequential_sum_and_sample`);
  φ-gradient Σ_{c∈C} q(c) g(c) + (1 − q(C)) g(u) with REINFORCE g(z) = (f(z) − b) ∇ log q(z)
  and the baseline b = Σ_{c∈C} q(c) f(c) / q(C) (detached), which does not depend on the sampled
  topology or its branch draw and so leaves every term unbiased
  (:func:`phylo_vi.vi.sum_and_sample.sum_and_sample_terms`).

Each returns its estimate of the ELBO at β = 1 (the unordered-set estimator Σ q(s) R(S, s) f(s) or
the sum-and-sample one), which the training trace records in place of the K-sample bound.

References
----------
1. Kool, W., van Hoof, H. & Welling, M. (2020). Estimating gradients for discrete random
   variables by sampling without replacement. ICLR.
2. Liu, R., Regier, J., Tripuraneni, N., Jordan, M. I. & McAuliffe, J. (2019).
   Rao-Blackwellized stochastic gradients for discrete distributions. ICML.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from phylo_vi.errors import PhyloVIError
from phylo_vi.vbpi.batch import TopologyBatch
from phylo_vi.vbpi.canonical import SBNSequence
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.objectives import Particles
from phylo_vi.vbpi.posterior import VariationalPosterior
from phylo_vi.vi.logspace import log1mexp
from phylo_vi.vi.sequential import sample_sequences, stochastic_beam_search
from phylo_vi.vi.sequential_sum_and_sample import ExcludingModel, beam_search
from phylo_vi.vi.sum_and_sample import sum_and_sample_terms
from phylo_vi.vi.unordered_set import log_inclusion_ratios, unordered_set_surrogate

SET_ESTIMATORS = ("unordered-set", "sum-and-sample")

ParticlesOf = Callable[[TopologyBatch], Particles]


@dataclass
class SetObjective:
    """``surrogate`` (maximise; its gradient is the estimator's), the ELBO ``estimate`` at β = 1,
    and the ``particles`` of the distinct topologies."""

    surrogate: Tensor
    estimate: float
    particles: Particles


def particle_values(particles: Particles, beta: float) -> Tensor:
    """f(τ_k, b_k) of the module docstring, ``(K,)``."""
    return particles.log_joint(beta) - particles.log_q_branch - particles.log_q_topology.detach()


def unordered_set_objective(posterior: VariationalPosterior, k: int, beta: float, generator: torch.Generator,
                            particles_of: ParticlesOf) -> SetObjective:
    """The unordered-set estimator over ``k`` topologies drawn without replacement."""
    sequences = SBNSequence(posterior.topology)
    with torch.no_grad():
        sample = stochastic_beam_search(sequences, 1, k, generator=generator)
    valid = sample.valid[0]
    rows = torch.nonzero(valid).squeeze(-1)
    particles = particles_of(sequences.topologies(sample.state, rows))
    log_q = particles.log_q_topology
    surrogate = unordered_set_surrogate(log_q, particle_values(particles, beta))
    with torch.no_grad():
        log_r1, _ = log_inclusion_ratios(log_q.detach())
        estimate = float((torch.exp(log_q.detach() + log_r1) * particle_values(particles, 1.0)).sum())
    return SetObjective(surrogate, estimate, particles)


def sum_and_sample_objective(posterior: VariationalPosterior, k: int, beta: float, generator: torch.Generator,
                             particles_of: ParticlesOf) -> SetObjective:
    """The sum-and-sample estimator: ``k - 1`` beam-search topologies summed, one sampled outside them.

    When the beam holds the whole support (q(C) = 1) the sum is exact and nothing is sampled.
    """
    if k < 2:
        raise PhyloVIError("sum-and-sample needs at least 2 particles (one summed, one sampled)")
    sequences = SBNSequence(posterior.topology)
    with torch.no_grad():
        summed = beam_search(sequences, k - 1)
        kept = torch.nonzero(summed.valid[0]).squeeze(-1)
        log_q_summed = summed.log_prob[0, kept]
        exhaustive = len(kept) < k - 1 or float(torch.logsumexp(log_q_summed, 0)) >= 0.0
        parts = [(summed.state, kept)]
        if not exhaustive:
            excluded = ExcludingModel(sequences, summed.choices[0, kept], log_q_summed)
            parts.append((sample_sequences(excluded, 1, 1, generator=generator).state.inner, None))
    particles = particles_of(sequences.topologies_of(parts))
    log_q = particles.log_q_topology
    f = particle_values(particles, beta)
    n_summed = len(kept)
    with torch.no_grad():
        q_summed = log_q.detach()[:n_summed].exp()
        baseline = (q_summed * f.detach()[:n_summed]).sum() / q_summed.sum()
        f1 = particle_values(particles, 1.0)
        estimate = (q_summed * f1[:n_summed]).sum()
    if exhaustive:
        score = log_q - log_q.detach()
        surrogate = (q_summed * (f + (f.detach() - baseline) * score)).sum()
    else:
        surrogate = sum_and_sample_terms(log_q, lambda index: f[index], torch.arange(n_summed, device=log_q.device),
                                         torch.tensor(n_summed, device=log_q.device), baseline=baseline)
        with torch.no_grad():
            estimate = estimate + log1mexp(torch.logsumexp(log_q.detach()[:n_summed], 0)).exp() * f1[n_summed]
    return SetObjective(surrogate, float(estimate), particles)


def set_objective(estimator: str, posterior: VariationalPosterior, model: PhylogeneticModel, k: int, beta: float,
                  rng: np.random.Generator) -> SetObjective:
    """One training draw of ``estimator`` (:data:`SET_ESTIMATORS`): every random number from ``rng``
    (a seed for the torch generator of the topology search, then the branch noise), so runs resume exactly."""
    device = posterior.topology.pcsp_logits.device
    generator = torch.Generator(device=device).manual_seed(int(rng.integers(2**63)))

    def particles_of(batch: TopologyBatch) -> Particles:
        return posterior(model, batch, rng.standard_normal((len(batch), batch.n_edges)))

    if estimator == "unordered-set":
        return unordered_set_objective(posterior, k, beta, generator, particles_of)
    if estimator == "sum-and-sample":
        return sum_and_sample_objective(posterior, k, beta, generator, particles_of)
    raise PhyloVIError(f"estimator must be one of {SET_ESTIMATORS}, got {estimator!r}")
