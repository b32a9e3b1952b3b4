"""Radial flow ``f(z) = z + beta h(alpha, r) (z - z0)``, ``h = 1 / (alpha + r)``, ``r = ||z - z0||``
(Rezende & Mohamed 2015, eq. 14).

``log |det J| = (d - 1) log(1 + beta h) + log(1 + beta h - beta h^2 r)`` (their eq. 14 with
``h'(r) = -1/(alpha + r)^2``). Invertibility needs ``beta >= -alpha``, enforced by
``alpha = softplus(alpha')`` and ``beta = -alpha + softplus(beta')`` (paper, appendix A.2).
There is no analytic inverse.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from phylo_vi.vi.flows.base import Flow


class RadialFlow(Flow):
    """One radial layer on R^``dim``; parameters initialised from ``generator``."""

    def __init__(self, dim: int, *, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
        super().__init__()
        init = lambda *shape: torch.randn(*shape, generator=generator, dtype=dtype).to(device)
        self.z0 = nn.Parameter(init(dim))
        self.alpha_raw = nn.Parameter(init(1)[0])
        self.beta_raw = nn.Parameter(init(1)[0])

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        alpha = softplus(self.alpha_raw)
        beta = -alpha + softplus(self.beta_raw)
        diff = z - self.z0
        r = torch.linalg.vector_norm(diff, dim=-1)
        h = 1.0 / (alpha + r)
        y = z + (beta * h).unsqueeze(-1) * diff
        d = z.shape[-1]
        log_det = (d - 1) * torch.log1p(beta * h) + torch.log1p(beta * h - beta * h ** 2 * r)
        return y, log_det
