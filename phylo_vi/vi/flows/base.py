"""Flow layers and the distribution obtained by pushing a base distribution through them.

For ``z_K = f_K o ... o f_1(z_0)`` with ``z_0 ~ q_0``,
``log q_K(z_K) = log q_0(z_0) - sum_k log |det d f_k / d z_{k-1}|`` (Rezende & Mohamed 2015,
eq. 6-7). Shapes: ``z`` is (..., d); log-determinants are (...).

References
----------
1. Rezende, D. J. & Mohamed, S. (2015). Variational inference with normalizing flows. ICML.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from phylo_vi.errors import InvalidParameterError


class Flow(nn.Module):
    """A bijection ``f`` on R^d with a tractable log-Jacobian determinant.

    Subclasses define ``forward(z) -> (f(z), log |det df/dz|)``.
    """

    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(f^{-1}(y), log |det df^{-1}/dy|)`` where an analytic inverse exists."""
        raise InvalidParameterError(f"{type(self).__name__} has no analytic inverse; score only its own samples")


class FlowDistribution(nn.Module):
    """``q_K`` = ``base`` pushed through ``flows`` (a ``torch.distributions`` base with ``rsample``).

    ``base`` must have event shape ``(d,)`` (e.g. ``Independent(Normal(loc, scale), 1)``);
    its parameters may be tensors owned elsewhere.
    """

    def __init__(self, base: torch.distributions.Distribution, flows: list[Flow]):
        super().__init__()
        self.base = base
        self.flows = nn.ModuleList(flows)

    def rsample_and_log_prob(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> tuple[Tensor, Tensor]:
        """Reparameterised sample ``z_K`` and its exact ``log q_K(z_K)``."""
        z = self.base.rsample(sample_shape)
        log_prob = self.base.log_prob(z)
        for flow in self.flows:
            z, log_det = flow(z)
            log_prob = log_prob - log_det
        return z, log_prob

    def log_prob(self, value: Tensor) -> Tensor:
        """``log q_K(value)`` by inverting every layer (needs analytic inverses)."""
        log_det_total = torch.zeros_like(value[..., 0])
        z = value
        for flow in reversed(self.flows):
            z, log_det = flow.inverse(z)
            log_det_total = log_det_total + log_det
        return self.base.log_prob(z) + log_det_total
