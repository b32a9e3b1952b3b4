"""Sparse variational dropout (Molchanov, Ashukha & Vetrov 2017).

``q(w_ij) = N(theta_ij, sigma_ij^2)`` with the log-uniform prior; the dropout rate enters via
``log alpha = log sigma^2 - log theta^2``. Details from the reference implementation
(bayesgroup/variational-dropout-sparsifies-dnn, ``nets/layers.py``):

* additive parameterisation: learn ``log sigma^2`` directly (not ``log alpha``), which removes
  the large-variance gradients of multiplicative noise (§4);
* ``log alpha`` is clipped to ``[-8, 8]``;
* the KL term uses the approximation (§4.2)
  ``-KL ~ k1 sigmoid(k2 + k3 log alpha) - 0.5 log(1 + 1/alpha) - k1`` with
  ``k1 = 0.63576, k2 = 1.87320, k3 = 1.48695`` (accurate to about 0.01 in log alpha in [-10, 10]);
* training uses the local reparameterisation ``sigma_b = sqrt(x^2 (alpha theta^2) + 1e-8)``;
* at evaluation weights with ``log alpha > threshold`` (3, i.e. dropout rate > 0.95) are pruned.

Shapes: input (M, in_features) -> output (M, out_features).

References
----------
1. Molchanov, D., Ashukha, A. & Vetrov, D. (2017). Variational dropout sparsifies deep neural
   networks. ICML.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from phylo_vi.vi.logspace import sample_normal

K1, K2, K3 = 0.63576, 1.87320, 1.48695
LOG_ALPHA_CLIP = 8.0


def sparse_vd_neg_kl(log_alpha: Tensor) -> Tensor:
    """Approximate ``-KL(q || log-uniform prior)`` per weight, up to a constant (Molchanov et al. 2017, §4.2)."""
    return K1 * torch.sigmoid(K2 + K3 * log_alpha) - 0.5 * torch.nn.functional.softplus(-log_alpha) - K1


class SparseVDLinear(nn.Module):
    """Linear layer with sparse variational dropout; ``threshold`` prunes at evaluation."""

    def __init__(self, in_features: int, out_features: int, *, threshold: float = 3.0,
                 initial_log_sigma2: float = -10.0, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        weight = (2 * torch.rand(out_features, in_features, generator=generator, dtype=dtype) - 1) * bound
        self.theta = nn.Parameter(weight.to(device))
        self.log_sigma2 = nn.Parameter(torch.full((out_features, in_features), initial_log_sigma2,
                                                  dtype=dtype, device=device))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=device))
        self.threshold = threshold
        self.generator = generator

    def log_alpha(self) -> Tensor:
        """``clip(log sigma^2 - log theta^2, -8, 8)``."""
        raw = self.log_sigma2 - torch.log(self.theta ** 2 + 1e-16)
        return torch.clamp(raw, -LOG_ALPHA_CLIP, LOG_ALPHA_CLIP)

    def forward(self, inputs: Tensor) -> Tensor:
        if not self.training:
            return inputs @ self.pruned_weight().T + self.bias
        mean = inputs @ self.theta.T
        variance = (inputs ** 2) @ (self.log_alpha().exp() * self.theta ** 2).T + 1e-8
        noise = sample_normal(mean.shape, like=mean, generator=self.generator)
        return mean + torch.sqrt(variance) * noise + self.bias

    def pruned_weight(self) -> Tensor:
        """``theta`` with weights of ``log alpha > threshold`` set to zero."""
        return torch.where(self.log_alpha() > self.threshold, torch.zeros_like(self.theta), self.theta)

    def kl(self) -> Tensor:
        """Approximate KL summed over weights (the constant of the improper prior dropped)."""
        return -sparse_vd_neg_kl(self.log_alpha()).sum()

    def sparsity(self) -> float:
        """Fraction of weights pruned at the current threshold."""
        return float((self.log_alpha() > self.threshold).double().mean())
