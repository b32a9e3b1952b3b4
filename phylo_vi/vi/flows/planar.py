"""Planar flow ``f(z) = z + u^ tanh(w^T z + b)`` (Rezende & Mohamed 2015, eq. 10-12).

``log |det J| = log |1 + u^T psi(z)|`` with ``psi(z) = (1 - tanh^2(w^T z + b)) w``. The map is
invertible iff ``w^T u^ >= -1``, enforced by the reparameterisation (paper, appendix A.1)

    u^ = u + (m(w^T u) - w^T u) w / ||w||^2,   m(x) = -1 + softplus(x),

so ``w^T u^ = m(w^T u) > -1``. There is no analytic inverse.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

from phylo_vi.vi.flows.base import Flow


class PlanarFlow(Flow):
    """One planar layer on R^``dim``; parameters initialised from ``generator`` (N(0, 0.1^2))."""

    def __init__(self, dim: int, *, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float64, device: torch.device | str | None = None):
        super().__init__()
        init = lambda *shape: 0.1 * torch.randn(*shape, generator=generator, dtype=dtype).to(device)
        self.u = nn.Parameter(init(dim))
        self.w = nn.Parameter(init(dim))
        self.b = nn.Parameter(init(1)[0])

    def constrained_u(self) -> Tensor:
        """``u^`` with ``w^T u^ = -1 + softplus(w^T u) > -1``."""
        wu = self.w @ self.u
        return self.u + (-1.0 + softplus(wu) - wu) * self.w / (self.w @ self.w)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u = self.constrained_u()
        activation = torch.tanh(z @ self.w + self.b)                  # (...)
        y = z + activation.unsqueeze(-1) * u
        psi_u = (1.0 - activation ** 2) * (self.w @ u)
        return y, torch.log(torch.abs(1.0 + psi_u))
