"""Concrete / Gumbel-softmax relaxation in log space, with straight-through.

A Concrete sample is ``y = softmax((log pi + G) / tau)`` with iid Gumbel ``G`` (Maddison et al.
2017, §3; Jang et al. 2017, §2). At low temperature ``y`` underflows to exact zeros and
its density on the simplex becomes non-finite, so everything here works with ``x = log y``,
the *ExpConcrete* variable (Maddison et al. 2017, appendix C), whose log-density is

    log p(x) = log (n-1)! + (n-1) log tau + sum_k (log pi_k - tau x_k)
               - n logsumexp_k(log pi_k - tau x_k).

``argmax y`` is exactly Categorical(pi) distributed at every temperature (Gumbel-max), the
property the tests check. Straight-through (Bengio et al. 2013; Jang et al. 2017, §2.2) returns
the one-hot ``argmax`` in the forward pass and the relaxed sample's gradient in the backward
pass; it is biased. Mixing relaxed samples with a discrete KL changes the objective: use the
ExpConcrete prior density consistently (Maddison et al. 2017, appendix C).

References
----------
1. Maddison, C. J., Mnih, A. & Teh, Y. W. (2017). The Concrete distribution. ICLR.
2. Jang, E., Gu, S. & Poole, B. (2017). Categorical reparameterization with Gumbel-softmax. ICLR.
3. Bengio, Y., Léonard, N. & Courville, A. (2013). Estimating or propagating gradients through
   stochastic neurons for conditional computation. arXiv:1308.3432.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from phylo_vi.vi.logspace import sample_gumbel

__all__ = ["sample_log_concrete", "log_concrete_log_prob", "straight_through", "gumbel_softmax"]


def sample_log_concrete(logits: Tensor, temperature: float | Tensor, sample_shape: tuple[int, ...] = (), *,
                        generator: torch.Generator | None = None) -> Tensor:
    """Reparameterised ExpConcrete sample ``x = log_softmax((logits + G) / tau)`` (..., n)."""
    shape = tuple(sample_shape) + tuple(logits.shape)
    noise = sample_gumbel(shape, like=logits, generator=generator)
    return torch.log_softmax((logits + noise) / temperature, dim=-1)


def log_concrete_log_prob(log_y: Tensor, logits: Tensor, temperature: float | Tensor) -> Tensor:
    """Log-density of the ExpConcrete variable ``log_y`` (Maddison et al. 2017, appendix C)."""
    n = logits.shape[-1]
    tau = torch.as_tensor(temperature, dtype=log_y.dtype, device=log_y.device)
    log_pi = torch.log_softmax(logits, dim=-1)
    scores = log_pi - tau * log_y
    return (math.lgamma(n) + (n - 1) * torch.log(tau) + scores.sum(-1)
            - n * torch.logsumexp(scores, dim=-1))


def straight_through(log_y: Tensor) -> Tensor:
    """One-hot of ``argmax log_y`` forward, gradient of ``exp(log_y)`` backward."""
    soft = log_y.exp()
    hard = torch.zeros_like(soft).scatter_(-1, log_y.argmax(dim=-1, keepdim=True), 1.0)
    return hard + (soft - soft.detach())   # exactly one-hot forward in any precision


def gumbel_softmax(logits: Tensor, temperature: float | Tensor, *, hard: bool = False,
                   generator: torch.Generator | None = None) -> Tensor:
    """Relaxed one-hot sample ``exp(x)``; ``hard=True`` gives the straight-through one-hot."""
    log_y = sample_log_concrete(logits, temperature, generator=generator)
    return straight_through(log_y) if hard else log_y.exp()
