"""Training signals for VAEs with a diagonal-Gaussian latent and prior ``N(0, I)``.

``z_k = mean + exp(log_scale) * eps_k``, ``eps_k ~ N(0, I)`` (reparameterised, Kingma & Welling
2014, eq. 4), ``log w_k = log p(x | z_k) + log N(z_k; 0, I) - log q(z_k | x)``. Objectives:

* ``elbo``: ``mean_k log w_k`` (SGVB estimator A);
* ``elbo-analytic``: ``mean_k log p(x | z_k) - KL(q || N(0, I))`` in closed form (estimator B);
* ``iwae``: ``log mean_k w_k`` (Burda et al. 2016);
* ``dreg``: the IWAE bound, with the doubly reparameterised gradient for the encoder
  (Tucker et al. 2019): the encoder's loss is :func:`phylo_vi.vi.iwae.dreg_surrogate` of
  ``log w`` with the encoder's outputs stopped inside ``log q``, the decoder's the IWAE bound.

:func:`gaussian_terms` also returns the per-datum reconstruction ``E_q log p(x | z)`` and KL
separately, which is what beta-weighting and GECO (:mod:`phylo_vi.vi.vae.kl_weighting`) act on.

References
----------
1. Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.
2. Burda, Y., Grosse, R. & Salakhutdinov, R. (2016). Importance weighted autoencoders. ICLR.
3. Tucker, G., Lawson, D., Gu, S. & Maddison, C. J. (2019). Doubly reparameterized gradient
   estimators for Monte Carlo objectives. ICLR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from phylo_vi.vi.elbo import normal_kl_to_standard, reparameterized_elbo
from phylo_vi.vi.iwae import dreg_surrogate, iwae_bound
from phylo_vi.vi.logspace import sample_normal
from phylo_vi.vi.vae.discrete_objectives import Surrogates
from phylo_vi.vi.vae.errors import VAEConfigurationError

__all__ = ["GAUSSIAN_OBJECTIVES", "GaussianTerms", "gaussian_terms", "gaussian_surrogates", "normal_log_prob"]

GAUSSIAN_OBJECTIVES = ("elbo", "elbo-analytic", "iwae", "dreg")
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def normal_log_prob(z: Tensor, mean: Tensor, log_scale: Tensor) -> Tensor:
    """``log N(z; mean, exp(log_scale)^2)`` summed over the last axis."""
    return (-0.5 * ((z - mean) * torch.exp(-log_scale)) ** 2 - log_scale - _HALF_LOG_TWO_PI).sum(-1)


@dataclass
class GaussianTerms:
    """Per-sample and per-datum pieces of the bounds: shapes (k, B) and (B,)."""

    log_likelihood: Tensor       # log p(x | z_k), (k, B)
    log_prior: Tensor            # log N(z_k; 0, I), (k, B)
    log_q: Tensor                # log q(z_k | x), (k, B)
    log_q_stopped: Tensor        # log q(z_k | x) with the encoder's outputs detached, (k, B)
    kl: Tensor                   # KL(q || N(0, I)) in closed form, (B,)

    @property
    def reconstruction(self) -> Tensor:
        """``mean_k log p(x | z_k)``, (B,)."""
        return self.log_likelihood.mean(0)


def gaussian_terms(mean: Tensor, log_scale: Tensor, log_likelihood: Callable[[Tensor], Tensor], n_samples: int,
                   generator: torch.Generator | None = None) -> GaussianTerms:
    """Draw ``n_samples`` reparameterised ``z`` per datum and evaluate the densities."""
    if n_samples < 1:
        raise VAEConfigurationError("n_samples must be at least 1")
    eps = sample_normal((n_samples,) + tuple(mean.shape), like=mean, generator=generator)
    z = mean + torch.exp(log_scale) * eps
    return GaussianTerms(
        log_likelihood=log_likelihood(z),
        log_prior=(-0.5 * z ** 2 - _HALF_LOG_TWO_PI).sum(-1),
        log_q=normal_log_prob(z, mean, log_scale),
        log_q_stopped=normal_log_prob(z, mean.detach(), log_scale.detach()),
        kl=normal_kl_to_standard(mean, log_scale))


def gaussian_surrogates(objective: str, terms: GaussianTerms) -> Surrogates:
    """Per-datum losses (B,) of ``objective`` (see the module docstring).

    The training loop differentiates ``model`` w.r.t. the decoder only and ``guide`` w.r.t. the
    encoder only, so for ``dreg`` the model loss is the plain IWAE bound (its decoder gradient
    ``sum_k w~_k grad_theta log p(x | z_k)``) and the guide loss the DReG surrogate.
    """
    log_weights = terms.log_likelihood + terms.log_prior - terms.log_q
    if objective == "elbo":
        loss = -reparameterized_elbo(terms.log_likelihood, log_prior=terms.log_prior, log_q=terms.log_q)
        return Surrogates(loss, loss)
    if objective == "elbo-analytic":
        loss = -reparameterized_elbo(terms.log_likelihood, kl=terms.kl)
        return Surrogates(loss, loss)
    if objective == "iwae":
        loss = -iwae_bound(log_weights)
        return Surrogates(loss, loss)
    if objective == "dreg":
        guide_loss = -dreg_surrogate(terms.log_likelihood + terms.log_prior - terms.log_q_stopped)
        return Surrogates(-iwae_bound(log_weights), guide_loss)
    raise VAEConfigurationError(f"unknown objective {objective!r}; choose one of {', '.join(GAUSSIAN_OBJECTIVES)}")
