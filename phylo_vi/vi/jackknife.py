"""Jackknife variational inference (JVI): bias-reduced estimates of log p(x).

The IWAE estimator ``L^_K = log (1/K) sum w_k`` has bias ``-(e^{s^2} - 1)/(2K) + O(K^-2)`` for
log-normal weights. The order-``m`` jackknife (Nowozin 2018, the JVI estimator and its higher-order form; Sharot 1976)
combines the estimates on all subsets of size ``K - j``, ``j = 0..m``,

    L^J_m = sum_{j=0}^{m} c(K, m, j) * mean_{|T| = K - j} L^_T,
    c(K, m, j) = (-1)^j (K - j)^m / ((m - j)! j!),

cancelling the bias terms up to order ``K^-m``. First order is
``K L^_K - (K - 1) mean_i L^_{K-1}^{(-i)}``; every leave-out estimate divides by its own
subset size (``-log(K - j)``, not ``-log K``). JVI is **not** a lower bound: it may exceed
log p(x), so it is an estimator of log p(x), not an objective to compare models by as a bound.
Cost grows like ``sum_{j<=m} C(K, j)`` subsets.

References
----------
1. Nowozin, S. (2018). Debiasing evidence approximations: on importance-weighted autoencoders
   and jackknife variational inference. ICLR.
2. Sharot, T. (1976). The generalized jackknife: finite samples and subsample sizes. JASA 71:451.
"""
from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError

__all__ = ["jackknife_log_marginal", "jackknife_coefficients"]


def jackknife_coefficients(n_samples: int, order: int) -> list[float]:
    """Sharot coefficients ``c(K, m, j)``, ``j = 0..m``; they sum to 1."""
    return [(-1) ** j * (n_samples - j) ** order / (math.factorial(order - j) * math.factorial(j))
            for j in range(order + 1)]


def jackknife_log_marginal(log_weights: Tensor, order: int = 1, dim: int = 0) -> Tensor:
    """Order-``order`` jackknife estimate of ``log p(x)`` from ``K`` log-weights along ``dim``.

    ``order = 0`` is the IWAE estimate; ``order`` must be below ``K``. Differentiable.
    """
    k = log_weights.shape[dim]
    if not 0 <= order < k:
        raise InvalidParameterError(f"jackknife order must lie in [0, {k - 1}] for K = {k}, got {order}")
    lw = log_weights.movedim(dim, -1)
    estimate = torch.zeros_like(lw[..., 0])
    for j, coefficient in enumerate(jackknife_coefficients(k, order)):
        removed = list(itertools.combinations(range(k), j))
        mask = torch.zeros(len(removed), k, dtype=lw.dtype, device=lw.device)
        for row, subset in enumerate(removed):
            mask[row, list(subset)] = -math.inf
        subset_bounds = torch.logsumexp(lw.unsqueeze(-2) + mask, dim=-1) - math.log(k - j)
        estimate = estimate + coefficient * subset_bounds.mean(dim=-1)
    return estimate
