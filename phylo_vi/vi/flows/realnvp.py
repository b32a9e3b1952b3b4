"""RealNVP affine coupling layer (Dinh, Sohl-Dickstein & Bengio 2017, §3).

With a binary mask ``m``, ``y = m * z + (1 - m) * (z * exp(s(m * z)) + t(m * z))``; the
Jacobian is triangular, so ``log |det J| = sum (1 - m) * s(m * z)``, and the inverse is
``z = m * y + (1 - m) * (y - t(m * y)) * exp(-s(m * y))``. The scale network output passes
through ``tanh`` (times a learnt scale) for stability, as in the reference implementation.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from phylo_vi.vi.flows.base import Flow


class RealNVPCoupling(Flow):
    """Affine coupling on R^``dim`` transforming the coordinates where ``mask`` is 0."""

    def __init__(self, mask: Tensor, *, hidden: int = 32, generator: torch.Generator | None = None):
        super().__init__()
        dim = mask.shape[-1]
        self.register_buffer("mask", mask.detach().clone())
        dtype = mask.dtype
        self.scale_net = nn.Sequential(nn.Linear(dim, hidden, dtype=dtype), nn.Tanh(),
                                       nn.Linear(hidden, dim, dtype=dtype), nn.Tanh())
        self.shift_net = nn.Sequential(nn.Linear(dim, hidden, dtype=dtype), nn.Tanh(),
                                       nn.Linear(hidden, dim, dtype=dtype))
        self.scale = nn.Parameter(torch.ones(dim, dtype=dtype))
        if generator is not None:
            with torch.no_grad():
                for parameter in self.parameters():
                    if parameter is not self.scale:
                        parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator, dtype=dtype))
        self.to(mask.device)

    def _scale_shift(self, masked: Tensor) -> tuple[Tensor, Tensor]:
        keep = 1.0 - self.mask
        return self.scale * self.scale_net(masked) * keep, self.shift_net(masked) * keep

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        log_scale, shift = self._scale_shift(z * self.mask)
        return z * torch.exp(log_scale) + shift, log_scale.sum(-1)

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        log_scale, shift = self._scale_shift(y * self.mask)
        return (y - shift) * torch.exp(-log_scale), -log_scale.sum(-1)
