"""Linear layer with factorised Gaussian weights and the local reparameterisation trick.

With ``q(W_ij) = N(mu_ij, sigma_ij^2)`` the pre-activations of an input row ``a`` are Gaussian,
``b_j ~ N(sum_i a_i mu_ij, sum_i a_i^2 sigma_ij^2)``, so they are sampled directly with fresh
noise for every example (Kingma, Salimans & Welling 2015, §2.3): the minibatch gradient
variance then falls like 1/M with no covariance between examples, unlike one weight sample
shared by the batch. The KL to the prior ``N(0, prior_std^2)`` is analytic and counted once per
weight, while the noise is per example. ``sigma = softplus(rho)``; start ``rho`` very negative.

Shapes: input (M, in_features) -> output (M, out_features).

References
----------
1. Kingma, D. P., Salimans, T. & Welling, M. (2015). Variational dropout and the local
   reparameterization trick. NeurIPS.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from phylo_vi.vi.logspace import sample_normal


class LocalReparameterizationLinear(nn.Module):
    """``y = b + bias`` with ``b`` sampled by the local reparameterisation trick."""

    def __init__(self, in_features: int, out_features: int, *, prior_std: float = 1.0, initial_rho: float = -5.0,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
                 device: torch.device | str | None = None):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        weight = (2 * torch.rand(out_features, in_features, generator=generator, dtype=dtype) - 1) * bound
        self.weight_mean = nn.Parameter(weight.to(device))
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), initial_rho, dtype=dtype, device=device))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=device))
        self.prior_std = prior_std
        self.generator = generator

    def weight_std(self) -> Tensor:
        return softplus(self.weight_rho)

    def forward(self, inputs: Tensor) -> Tensor:
        mean = inputs @ self.weight_mean.T
        variance = (inputs ** 2) @ (self.weight_std() ** 2).T
        noise = sample_normal(mean.shape, like=mean, generator=self.generator)
        return mean + torch.sqrt(variance) * noise + self.bias

    def kl(self) -> Tensor:
        """``KL(q(W) || N(0, prior_std^2))`` summed over weights (closed form)."""
        std = self.weight_std()
        ratio = (std / self.prior_std) ** 2
        return 0.5 * (ratio + (self.weight_mean / self.prior_std) ** 2 - 1.0 - torch.log(ratio)).sum()
