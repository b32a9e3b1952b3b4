"""Evaluation of a fitted VBPI posterior: ELBO, multi-sample bounds, marginal likelihood, KL.

As in the reference notebooks (``zcrabbit/vbpi-torch:unrooted/notebooks/ds1.ipynb``,
``lower_bound(n_particles, n_runs)``):

- ELBO = mean over ``n_runs = 1000`` independent single-particle bounds log w(τ, b);
- the K-sample bound (K = 10) = mean over runs of log (1/K) Σ_k w_k;
- the marginal likelihood log p(D) by importance sampling with q as proposal,
  log (1/N) Σ_k w_k with N = 1000 particles (a consistent estimate, biased low by
  ≈ Var(w)/(2N·E[w]²)), repeated to give its spread;
- KL(p_golden ‖ q_φ) over the golden-run topologies (:func:`phylo_vi.sbn.kl_divergence`), and
  the golden mass on topologies the support can produce: a tree outside it has q = 0 and costs
  p log(p / ε) in the KL whatever the training (on DS1 the pooled short-run support leaves
  0.0188 of the golden mass out, a KL of at least 0.48; the UFBoot support 0.00018).

Particles are drawn in chunks so that memory stays bounded for any number of runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from phylo_vi.errors import PhyloVIError
from phylo_vi.trees.arrays import TreeArrays
from phylo_vi.sbn.kl import kl_divergence
from phylo_vi.vbpi.model import PhylogeneticModel
from phylo_vi.vbpi.posterior import VariationalPosterior
from phylo_vi.vi.logspace import logmeanexp

#: Particles per likelihood call during evaluation.
CHUNK = 2000


def log_weights(posterior: VariationalPosterior, model: PhylogeneticModel, n: int,
                rng: np.random.Generator) -> np.ndarray:
    """log w of ``n`` independent particles from q (no gradients), ``(n,)``."""
    out = np.empty(n)
    with torch.no_grad():
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            _, particles = posterior.draw(model, size, rng)
            out[start:start + size] = particles.log_weights(1.0).cpu().numpy()
    return out


def importance_bounds(posterior: VariationalPosterior, model: PhylogeneticModel, n_particles: int, n_runs: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``(n_runs,)`` values of log (1/K) Σ_k w_k, each from its own ``n_particles`` particles."""
    if n_particles < 1 or n_runs < 1:
        raise PhyloVIError("n_particles and n_runs must be at least 1")
    weights = torch.as_tensor(log_weights(posterior, model, n_particles * n_runs, rng).reshape(n_runs, n_particles))
    return logmeanexp(weights, dim=1).numpy()


@dataclass(frozen=True)
class Evaluation:
    """Summary numbers of a fitted posterior (module docstring); ``*_sd`` over runs / repeats."""

    elbo: float
    elbo_sd: float
    bound_10: float
    bound_10_sd: float
    log_marginal: float
    log_marginal_sd: float
    log_marginal_repeats: int
    kl: float | None
    golden_mass_in_support: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate(posterior: VariationalPosterior, model: PhylogeneticModel, rng: np.random.Generator, *,
             n_runs: int = 1000, n_is_particles: int = 1000, n_is_repeats: int = 10,
             golden: tuple[TreeArrays, np.ndarray] | None = None) -> Evaluation:
    """ELBO and 10-sample bound over ``n_runs`` runs, IS marginal likelihood ``n_is_repeats`` times, KL."""
    elbo = importance_bounds(posterior, model, 1, n_runs, rng)
    bound_10 = importance_bounds(posterior, model, 10, n_runs, rng)
    marginal = importance_bounds(posterior, model, n_is_particles, n_is_repeats, rng)
    kl = covered = None
    if golden is not None:
        trees, probabilities = golden
        result = kl_divergence(posterior.topology.distribution(), trees, probabilities)
        kl, covered = result.kl, result.covered_mass
    spread = lambda values: float(values.std(ddof=1)) if len(values) > 1 else float("nan")  # noqa: E731
    return Evaluation(elbo=float(elbo.mean()), elbo_sd=spread(elbo), bound_10=float(bound_10.mean()),
                      bound_10_sd=spread(bound_10), log_marginal=float(marginal.mean()),
                      log_marginal_sd=spread(marginal), log_marginal_repeats=n_is_repeats, kl=kl,
                      golden_mass_in_support=covered)
