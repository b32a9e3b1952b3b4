"""Birkhoff-polytope reparameterisations of permutations (Linderman et al. 2018).

**Stick-breaking** (§3.1). ``B in (0,1)^{(N-1) x (N-1)}`` maps to a doubly-stochastic ``X`` by a
raster scan; with 0-based indices and ``R_mn = sum_{k<n} x_mk`` (row so far) and
``C_mn = sum_{k<m} x_kn`` (column so far),

    u_mn = min(1 - R_mn, 1 - C_mn),
    l_mn = max(0, 1 - R_mn - sum_{j>n} (1 - C_mj))      (= the paper's 1 - N + n - R + sum x),
    x_mn = l_mn + b_mn (u_mn - l_mn),

and the last column and row are fixed by the marginals. The Jacobian of the free block is
triangular, ``log |det dX/dB| = sum log(u_mn - l_mn)``. The map depends on the element order.

**Rounding** (§3.2). With ``M~ = Sinkhorn(M)`` and noise scale ``V``: ``Psi = M~ + V * eps``,
``X = tau Psi + (1 - tau) round(Psi)`` where ``round`` is the Hungarian matching of ``Psi``;
for ``tau in (0, 1)`` ``round(X) = round(Psi)``, so
``log q(X) = sum [log N(z; 0, 1) - log(tau V)]`` with
``z = (X / tau - (1 - tau) / tau * round(X) - M~) / V``.

References
----------
1. Linderman, S. W., Mena, G. E., Cooper, H., Paninski, L. & Cunningham, J. P. (2018).
   Reparameterizing the Birkhoff polytope for variational permutation inference. AISTATS.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from phylo_vi.errors import InvalidParameterError
from phylo_vi.vi.logspace import sample_normal
from phylo_vi.vi.permutations.sinkhorn import hungarian_matching, log_sinkhorn

__all__ = ["birkhoff_stick_breaking", "birkhoff_rounding_sample", "birkhoff_rounding_log_prob"]


def birkhoff_stick_breaking(beta: Tensor) -> tuple[Tensor, Tensor]:
    """Doubly-stochastic ``X`` (..., N, N) from ``beta`` (..., N-1, N-1) in (0, 1), and
    ``log |det dX_free / d beta|`` (...). Loops over the (N-1)^2 entries, batched over ``...``."""
    n = beta.shape[-1] + 1
    rows: list[list[Tensor]] = []
    column_sums = [torch.zeros_like(beta[..., 0, 0]) for _ in range(n)]
    log_det = torch.zeros_like(beta[..., 0, 0])
    for m in range(n - 1):
        row: list[Tensor] = []
        row_sum = torch.zeros_like(beta[..., 0, 0])
        for j in range(n - 1):
            remaining_capacity = sum(1.0 - column_sums[k] for k in range(j + 1, n))
            upper = torch.minimum(1.0 - row_sum, 1.0 - column_sums[j])
            lower = torch.clamp(1.0 - row_sum - remaining_capacity, min=0.0)
            x = lower + beta[..., m, j] * (upper - lower)
            log_det = log_det + torch.log(upper - lower)
            row.append(x)
            row_sum = row_sum + x
        row.append(1.0 - row_sum)
        for j in range(n):
            column_sums[j] = column_sums[j] + row[j]
        rows.append(row)
    rows.append([1.0 - column_sums[j] for j in range(n)])
    matrix = torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)
    return matrix, log_det


def birkhoff_rounding_sample(log_mean: Tensor, log_noise_scale: Tensor, temperature: float, *,
                             n_iters: int = 50, generator: torch.Generator | None = None
                             ) -> tuple[Tensor, Tensor]:
    """Reparameterised rounding sample ``X`` (..., N, N) and its ``log q(X)``.

    ``log_mean`` are the unnormalised log-scores ``M`` (made doubly stochastic by Sinkhorn),
    ``log_noise_scale`` is ``log V`` (broadcastable), ``temperature`` lies in (0, 1).
    """
    if not 0.0 < temperature < 1.0:
        raise InvalidParameterError(f"the rounding temperature must lie in (0, 1), got {temperature}")
    mean = log_sinkhorn(log_mean, n_iters).exp()
    scale = log_noise_scale.exp()
    eps = sample_normal(mean.shape, like=mean, generator=generator)
    psi = mean + scale * eps
    rounded = hungarian_matching(psi)
    x = temperature * psi + (1.0 - temperature) * rounded
    return x, birkhoff_rounding_log_prob(x, log_mean, log_noise_scale, temperature, n_iters=n_iters)


def birkhoff_rounding_log_prob(x: Tensor, log_mean: Tensor, log_noise_scale: Tensor, temperature: float, *,
                               n_iters: int = 50) -> Tensor:
    """``log q(X)`` of the rounding reparameterisation (Linderman et al. 2018, §3.2)."""
    mean = log_sinkhorn(log_mean, n_iters).exp()
    rounded = hungarian_matching(x)
    z = (x / temperature - (1.0 - temperature) / temperature * rounded - mean) / log_noise_scale.exp()
    log_density = -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi) - log_noise_scale - math.log(temperature)
    return log_density.sum(dim=(-2, -1))
