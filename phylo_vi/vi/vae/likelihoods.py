"""Decoders: the data distribution p(x | z) for Bernoulli, Gaussian and categorical data.

Each decoder maps latent features ``z`` (..., B, L) through an MLP to the parameters of a
factorised distribution over the ``D`` data dimensions and returns ``log p(x | z)`` (..., B),
summed over dimensions (never averaged: the ELBO's two terms must be on the same scale, spec
§1.1). Leading sample axes broadcast against the data (B, D). With ``sparse_vd_generator`` the decoder's
layers are Bayesian (sparse variational dropout, :func:`phylo_vi.vi.vae.networks.mlp`); its
weight KL (:func:`phylo_vi.vi.vae.networks.weight_kl`) then enters the loss divided by the number
of training points (Molchanov et al. 2017, eq. 3, per datum).

* :class:`BernoulliLikelihood`: binary data, logits; ``log p = -BCE`` in its stable form
  ``x l - softplus(l)``.
* :class:`GaussianLikelihood`: real data, mean from the MLP and one learned log-scale per
  dimension (homoscedastic decoder, Kingma & Welling 2014, appendix C.2).
* :class:`CategoricalLikelihood`: integer data with ``n_values`` levels per dimension,
  ``log_softmax`` logits.

References
----------
1. Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from phylo_vi.vi.vae.errors import VAEConfigurationError
from phylo_vi.vi.vae.networks import mlp

__all__ = ["BernoulliLikelihood", "GaussianLikelihood", "CategoricalLikelihood", "make_likelihood"]


class BernoulliLikelihood(nn.Module):
    """``x_d ~ Bernoulli(sigmoid(logit_d(z)))`` independently."""

    def __init__(self, n_latent: int, n_outputs: int, hidden: Sequence[int] = (64,), *,
                 sparse_vd_generator: torch.Generator | None = None):
        super().__init__()
        self.net = mlp([n_latent, *hidden, n_outputs], sparse_vd_generator=sparse_vd_generator)

    def log_prob(self, x: Tensor, z: Tensor) -> Tensor:
        logits = self.net(z)
        return (x * logits - softplus(logits)).sum(-1)

    def reconstruction(self, z: Tensor) -> Tensor:
        """Mean of p(x | z)."""
        return torch.sigmoid(self.net(z))


class GaussianLikelihood(nn.Module):
    """``x_d ~ N(mean_d(z), exp(log_scale_d)^2)`` independently."""

    def __init__(self, n_latent: int, n_outputs: int, hidden: Sequence[int] = (64,), *,
                 sparse_vd_generator: torch.Generator | None = None):
        super().__init__()
        self.net = mlp([n_latent, *hidden, n_outputs], sparse_vd_generator=sparse_vd_generator)
        self.log_scale = nn.Parameter(torch.zeros(n_outputs))

    def log_prob(self, x: Tensor, z: Tensor) -> Tensor:
        standardised = (x - self.net(z)) * torch.exp(-self.log_scale)
        return (-0.5 * standardised ** 2 - self.log_scale - 0.5 * math.log(2 * math.pi)).sum(-1)

    def reconstruction(self, z: Tensor) -> Tensor:
        return self.net(z)


class CategoricalLikelihood(nn.Module):
    """``x_d ~ Categorical(softmax(logits_d(z)))`` over ``n_values`` levels; ``x`` holds integers."""

    def __init__(self, n_latent: int, n_outputs: int, n_values: int, hidden: Sequence[int] = (64,), *,
                 sparse_vd_generator: torch.Generator | None = None):
        super().__init__()
        self.n_values = n_values
        self.net = mlp([n_latent, *hidden, n_outputs * n_values], sparse_vd_generator=sparse_vd_generator)

    def _log_probs(self, z: Tensor) -> Tensor:
        logits = self.net(z)
        return torch.log_softmax(logits.unflatten(-1, (-1, self.n_values)), dim=-1)

    def log_prob(self, x: Tensor, z: Tensor) -> Tensor:
        log_probs = self._log_probs(z)
        index = x.long().unsqueeze(-1).expand(*log_probs.shape[:-1], 1)
        return log_probs.gather(-1, index).squeeze(-1).sum(-1)

    def reconstruction(self, z: Tensor) -> Tensor:
        """Most probable level of each dimension."""
        return self._log_probs(z).argmax(-1)


def make_likelihood(name: str, n_latent: int, n_outputs: int, hidden: Sequence[int], *,
                    n_values: int = 2, sparse_vd_generator: torch.Generator | None = None) -> nn.Module:
    """Decoder by name: ``bernoulli``, ``gaussian`` or ``categorical`` (Bayesian layers with a generator)."""
    if name == "bernoulli":
        return BernoulliLikelihood(n_latent, n_outputs, hidden, sparse_vd_generator=sparse_vd_generator)
    if name == "gaussian":
        return GaussianLikelihood(n_latent, n_outputs, hidden, sparse_vd_generator=sparse_vd_generator)
    if name == "categorical":
        return CategoricalLikelihood(n_latent, n_outputs, n_values, hidden, sparse_vd_generator=sparse_vd_generator)
    raise VAEConfigurationError(f"unknown likelihood {name!r}; choose bernoulli, gaussian or categorical")
