"""The K-sample importance-weighted bound of VBPI and its two gradient estimators.

For K particles (τ_k, b_k) ~ q_φ(τ) q_ψ(b | τ), with log-weights at inverse temperature β

    log w_k(β) = β log p(D | τ_k, b_k) + log p(b_k) + log p(τ_k) − log q_φ(τ_k) − log q_ψ(b_k | τ_k),

the bound is L^K = E log (1/K) Σ_k w_k(1) (Zhang & Matsen, ICLR 2019, eq. 4; Burda et al. 2016).
Training maximises the annealed bound (β < 1 early: ``inverse_temperature``) with

- **VIMCO** (Mnih & Rezende 2016): φ by the leave-one-out score-function estimator, ψ by
  reparameterisation through b (both inside :func:`phylo_vi.vi.vimco.vimco_surrogate`);
- **RWS** (Bornschein & Bengio 2015): φ by the wake-φ step Σ_k sg(w̃_k) ∇ log q_φ(τ_k), ψ by the
  reparameterised IWAE bound with q_φ detached (:mod:`phylo_vi.vi.rws`).

Both match ``vimco_lower_bound`` / ``rws_lower_bound`` of ``zcrabbit/vbpi-torch:unrooted/vbpi.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from phylo_vi.errors import PhyloVIError
from phylo_vi.vi.logspace import logmeanexp
from phylo_vi.vi.rws import wake_phi_surrogate, wake_theta_surrogate
from phylo_vi.vi.vimco import vimco_surrogate

ESTIMATORS = ("vimco", "rws")


def inverse_temperature(iteration: int, *, initial: float = 0.001, warm_up: int = 100_000) -> float:
    """β = min(1, β₀ + t / warm-up) at iteration ``t`` (1-based; the reference's ``invT0``, ``nwarmStart``)."""
    if warm_up <= 0:
        return 1.0
    return min(1.0, initial + iteration / warm_up)


@dataclass
class Particles:
    """The terms of the log-weights of K particles, each ``(K,)``."""

    log_likelihood: torch.Tensor
    log_branch_prior: torch.Tensor
    log_topology_prior: float
    log_q_topology: torch.Tensor
    log_q_branch: torch.Tensor

    def log_joint(self, beta: float = 1.0) -> torch.Tensor:
        """β log p(D | τ, b) + log p(b) + log p(τ)."""
        return beta * self.log_likelihood + self.log_branch_prior + self.log_topology_prior

    def log_weights(self, beta: float = 1.0) -> torch.Tensor:
        """log w_k(β) (module docstring)."""
        return self.log_joint(beta) - self.log_q_topology - self.log_q_branch

    def bound(self) -> float:
        """log (1/K) Σ_k w_k(1): this draw's estimate of the K-sample bound."""
        return float(logmeanexp(self.log_weights(1.0).detach(), dim=0))


def surrogate(particles: Particles, beta: float, estimator: str) -> torch.Tensor:
    """Scalar to *maximise* whose gradient is the estimator's gradient of the annealed bound."""
    if estimator == "vimco":
        return vimco_surrogate(particles.log_weights(beta), particles.log_q_topology)
    if estimator == "rws":
        log_joint = particles.log_joint(beta) - particles.log_q_branch
        return (wake_theta_surrogate(log_joint, particles.log_q_topology)
                + wake_phi_surrogate(log_joint.detach(), particles.log_q_topology))
    raise PhyloVIError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
