"""Other ways than the ELBO to combine the reconstruction and KL terms of a Gaussian VAE.

* :class:`BetaAnnealing`: ``-E log p(x | z) + beta_t KL`` with ``beta_t`` rising linearly from
  ``beta_start`` to 1 over ``warmup_steps`` (KL annealing, Bowman et al. 2016, §3.1; Sønderby
  et al. 2016, §2.3). Once ``beta = 1`` the loss is the negative ELBO.
* :class:`GECOWeighting`: minimise ``KL`` subject to the reconstruction constraint
  ``E[-log p(x | z)] <= D * target`` (``target`` in nats per data dimension), through the
  Lagrangian ``KL + lambda (E[-log p(x | z)] - D target)`` and the multiplier updates of
  :class:`phylo_vi.vi.geco.GECO` (Rezende & Viola 2018, Algorithm 1). The constraint is in nats
  per datum so that ``lambda = 1`` is the ELBO (the default start); ``lambda > 1`` weights the
  reconstruction more. At the constrained optimum the multiplier settles where the constraint
  holds with equality (when it is active); the KL reached there is the price of the required
  reconstruction.

Both are called as ``weighting(reconstruction, kl, n_dimensions)`` with the batch means
of ``E_q log p(x | z)`` and ``KL(q || p)`` (scalars) and return the scalar loss.

References
----------
1. Rezende, D. J. & Viola, F. (2018). Taming VAEs. arXiv:1810.00597.
2. Bowman, S. R. et al. (2016). Generating sentences from a continuous space. CoNLL.
3. Sønderby, C. K. et al. (2016). Ladder variational autoencoders. NeurIPS.
"""
from __future__ import annotations

from torch import Tensor

from phylo_vi.vi.geco import GECO
from phylo_vi.vi.vae.errors import VAEConfigurationError

__all__ = ["BetaAnnealing", "GECOWeighting"]


class BetaAnnealing:
    """``-reconstruction + beta_t kl``, ``beta_t = min(1, beta_start + (1 - beta_start) t / warmup_steps)``."""

    def __init__(self, *, warmup_steps: int, beta_start: float = 0.0):
        if warmup_steps < 1 or not 0.0 <= beta_start <= 1.0:
            raise VAEConfigurationError("beta annealing needs warmup_steps >= 1 and beta_start in [0, 1]")
        self.warmup_steps = warmup_steps
        self.beta_start = beta_start
        self.step_ = 0

    @property
    def beta(self) -> float:
        return min(1.0, self.beta_start + (1.0 - self.beta_start) * self.step_ / self.warmup_steps)

    def __call__(self, reconstruction: Tensor, kl: Tensor, n_dimensions: int) -> Tensor:
        loss = -reconstruction + self.beta * kl
        self.step_ += 1
        return loss


class GECOWeighting:
    """``KL + lambda (-reconstruction - D target)`` with GECO's multiplier updates."""

    def __init__(self, *, target: float, alpha: float = 0.99, step_size: float = 1e-3,
                 initial_multiplier: float = 1.0):
        self.target = target
        self.geco = GECO(alpha=alpha, step_size=step_size, initial_multiplier=initial_multiplier)

    @property
    def multiplier(self) -> float:
        return float("nan") if self.geco.multiplier_ is None else float(self.geco.multiplier_)

    @property
    def constraint(self) -> float:
        """Moving average of ``-reconstruction - D target`` in nats (``<= 0`` means satisfied)."""
        return float("nan") if self.geco.constraint_ma_ is None else float(self.geco.constraint_ma_)

    def __call__(self, reconstruction: Tensor, kl: Tensor, n_dimensions: int) -> Tensor:
        return self.geco(kl, -reconstruction - n_dimensions * self.target)
