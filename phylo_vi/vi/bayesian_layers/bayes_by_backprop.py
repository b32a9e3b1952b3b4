"""Bayes by Backprop with the scale-mixture prior (Blundell et al. 2015).

Weights ``w = mu + softplus(rho) * eps`` are sampled once per forward pass; the per-batch cost
is ``log q(w) - log P(w) - log P(D | w)`` estimated by Monte Carlo (eq. 2), so any prior with a
density works, in particular the scale mixture (eq. 7)

    P(w) = prod_j [pi N(w_j; 0, sigma1^2) + (1 - pi) N(w_j; 0, sigma2^2)],

with ``-log sigma1 in {0, 1, 2}`` and ``-log sigma2 in {6, 7, 8}`` in the paper. For minibatch
``i`` of ``M`` the complexity cost is weighted by ``pi_i = 2^{M-i} / (2^M - 1)`` (eq. 9) or
uniformly by ``1/M``. Start ``rho`` small (``softplus(rho)`` around 1e-3).

References
----------
1. Blundell, C., Cornebise, J., Kavukcuoglu, K. & Wierstra, D. (2015). Weight uncertainty in
   neural networks. ICML.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from phylo_vi.errors import InvalidParameterError
from phylo_vi.vi.logspace import sample_normal

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def minibatch_kl_weights(n_batches: int, *, scheme: str = "geometric") -> list[float]:
    """``pi_i`` for ``i = 1..M``: ``2^{M-i} / (2^M - 1)`` (eq. 9) or uniform ``1/M``."""
    if scheme == "uniform":
        return [1.0 / n_batches] * n_batches
    if scheme != "geometric":
        raise InvalidParameterError(f"scheme must be 'geometric' or 'uniform', not {scheme!r}")
    return [2.0 ** (n_batches - i) / (2.0 ** n_batches - 1.0) for i in range(1, n_batches + 1)]


class ScaleMixturePrior:
    """``pi N(0, sigma1^2) + (1 - pi) N(0, sigma2^2)`` on every weight (log-density summed)."""

    def __init__(self, *, pi: float = 0.5, sigma1: float = math.exp(0.0), sigma2: float = math.exp(-6.0)):
        if not 0.0 <= pi <= 1.0:
            raise InvalidParameterError("pi must lie in [0, 1]")
        self.pi, self.sigma1, self.sigma2 = pi, sigma1, sigma2

    def log_prob(self, w: Tensor) -> Tensor:
        terms = []
        for weight, sigma in ((self.pi, self.sigma1), (1.0 - self.pi, self.sigma2)):
            if weight > 0:
                terms.append(math.log(weight) - math.log(sigma) - _LOG_SQRT_2PI - 0.5 * (w / sigma) ** 2)
        return torch.logsumexp(torch.stack(terms), dim=0).sum()


class BayesByBackpropLinear(nn.Module):
    """Linear layer whose weights and biases are sampled once per forward pass.

    After ``forward`` the attributes ``log_q_`` and ``log_prior_`` hold ``log q(w)`` and
    ``log P(w)`` of the sample used, so ``loss = kl_weight * (log_q_ - log_prior_) - log_lik``.
    """

    def __init__(self, in_features: int, out_features: int, *, prior: ScaleMixturePrior | None = None,
                 initial_rho: float = -7.0, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
        super().__init__()
        shape = (out_features, in_features + 1)          # last column: bias
        init = 0.1 * torch.randn(shape, generator=generator, dtype=dtype)
        self.mean = nn.Parameter(init.to(device))
        self.rho = nn.Parameter(torch.full(shape, initial_rho, dtype=dtype, device=device))
        self.prior = prior if prior is not None else ScaleMixturePrior()
        self.generator = generator
        self.log_q_: Tensor | None = None
        self.log_prior_: Tensor | None = None

    def forward(self, inputs: Tensor) -> Tensor:
        std = softplus(self.rho)
        eps = sample_normal(self.mean.shape, like=self.mean, generator=self.generator)
        w = self.mean + std * eps
        self.log_q_ = (-torch.log(std) - _LOG_SQRT_2PI - 0.5 * eps ** 2).sum()
        self.log_prior_ = self.prior.log_prob(w)
        return inputs @ w[:, :-1].T + w[:, -1]
